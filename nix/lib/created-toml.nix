# The [created] table of /etc/pgnspawn/pgnspawn.toml: the port range and the per-uid quota
# of instances developers create over D-Bus (pgnspawnctl create/up). null values are left
# out (the daemon's defaults: 54300, 54399, 10); with all of them null, nothing is written.
# Builtins only, like ./toml.nix, so tests/nix/check.sh evaluates it without nixpkgs.
created:
let
  keys = [ "port_min" "port_max" "quota" ];
  set = builtins.removeAttrs created (builtins.filter (k: created.${k} == null) (builtins.attrNames created));
  unknown = builtins.filter (k: !builtins.any (x: x == k) keys) (builtins.attrNames set);
  value = k: v:
    if k == "quota" then
      (if builtins.isInt v && v >= 0 && v <= 10000 then toString v
       else throw "pgnspawn: created.quota must be an integer between 0 and 10000")
    else if builtins.isInt v && v >= 1 && v <= 65535 then toString v
    else throw "pgnspawn: created.${k} must be a port between 1 and 65535";
in
if !builtins.isAttrs created then throw "pgnspawn: created must be an attribute set"
else if unknown != [ ] then
  throw "pgnspawn: created: unknown key \"${builtins.head unknown}\" (known keys: ${builtins.concatStringsSep ", " keys})"
else if set ? port_min && set ? port_max && set.port_min > set.port_max then
  throw "pgnspawn: created.port_min is above created.port_max"
else if set == { } then ""
else "\n[created]\n" + builtins.concatStringsSep "" (map (k: if set ? ${k} then "${k} = ${value k set.${k}}\n" else "") keys)
