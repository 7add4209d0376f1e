# The text of /etc/pgnspawn/pgnspawn.toml from an attribute set of instances, keyed by
# instance name, each an attribute set with the file's own keys:
#
#   import ./toml.nix { helloworld = { port = 5433; password_file = "/etc/pgnspawn/hw.pass"; }; }
#
# Builtins only, no nixpkgs: the NixOS module (../module.nix) writes its result with
# pkgs.writeText, and CI evaluates the very same function with `nix-instantiate --eval`
# (tests/nix/check.sh). null values are left out, so the daemon's defaults apply.
# Mistakes that need no machine to be seen (unknown keys, wrong types, bad names, a missing
# port or password) fail evaluation here; the rest is for `pgnspawnd --check-config`.
instances:
let
  # Every key pgnspawnd knows, in the order it is written.
  keys = [
    "image" "port" "listen_address" "database" "user" "password" "password_file"
    "version" "autostart" "directory" "toplevel" "network" "host_port"
    "createdb" "superuser" "durability" "ephemeral"
    "settings" "initial_script" "initial_sql" "databases" "extensions"
  ];
  stringKeys = [
    "image" "listen_address" "database" "user" "password" "password_file"
    "directory" "toplevel" "network" "durability"
    "initial_script" "initial_sql"
  ];
  absolutePathKeys = [ "password_file" "directory" "toplevel" "initial_script" ];
  choices = {
    image = [ "host" "directory" "nixos" ];
    network = [ "private" "host" ];
    durability = [ "durable" "fast" ];
  };

  elem = x: xs: builtins.any (y: y == x) xs;
  concatMap = f: xs: builtins.concatStringsSep "" (map f xs);

  # TOML basic strings: escape '\', '"' and every control character.
  hexDigits = "0123456789ABCDEF";
  hex = n: builtins.substring (n / 16) 1 hexDigits + builtins.substring (n - n / 16 * 16) 1 hexDigits;
  controlCodes = builtins.genList (i: i + 1) 31 ++ [ 127 ];
  charOf = code: builtins.fromJSON "\"\\u00${hex code}\"";
  named = { "8" = "\\b"; "9" = "\\t"; "10" = "\\n"; "12" = "\\f"; "13" = "\\r"; };
  escapeOf = code: named.${toString code} or "\\u00${hex code}";
  quote = s:
    "\"" + builtins.replaceStrings
      ([ "\\" "\"" ] ++ map charOf controlCodes)
      ([ "\\\\" "\\\"" ] ++ map escapeOf controlCodes)
      s + "\"";

  # Paths and derivations (a NixOS system's toplevel) stand for their path.
  asString = v:
    if builtins.isString v then v
    else if builtins.isPath v || (builtins.isAttrs v && v ? outPath) then toString v
    else v;

  value = name: key: raw:
    let
      v = if elem key stringKeys then asString raw else raw;
      bad = what: throw "pgnspawn: instance \"${name}\": \"${key}\" must be ${what}";
    in
    if elem key stringKeys then
      if !builtins.isString v then bad "a string"
      else if choices ? ${key} && !elem v choices.${key} then
        bad "one of ${builtins.concatStringsSep ", " (map quote choices.${key})}, not ${quote v}"
      else if elem key absolutePathKeys && builtins.substring 0 1 v != "/" then
        bad "an absolute path, not ${quote v}"
      else quote v
    else if key == "port" || key == "host_port" then
      if builtins.isInt v && v >= 1 && v <= 65535 then toString v else bad "an integer between 1 and 65535"
    else if key == "version" then
      if builtins.isInt v then toString v
      else if builtins.isString v then quote v
      else bad "a PostgreSQL major version such as 15"
    else if key == "autostart" || key == "createdb" || key == "superuser" || key == "ephemeral" then
      if builtins.isBool v then (if v then "true" else "false") else bad "true or false"
    else if key == "databases" || key == "extensions" then
      if builtins.isList v && builtins.all (x: builtins.isString x && builtins.match "[A-Za-z_][A-Za-z0-9_-]{0,62}" x != null) v
      then "[" + builtins.concatStringsSep ", " (map quote v) + "]"
      else bad "a list of names (letters, digits, '_' and '-', up to 63)"
    else if key == "settings" then
      if builtins.isAttrs v then "{ " + builtins.concatStringsSep ", " (map (k: setting name k v.${k}) (builtins.attrNames v)) + " }"
      else bad "an attribute set of PostgreSQL settings"
    else throw "pgnspawn: internal error: no format for key ${key}";

  # One PostgreSQL setting of `settings`, as NixOS's services.postgresql.settings takes
  # them: strings, integers, floats and booleans. The name is quoted, so an extension's
  # "pg_stat_statements.track" stays one key.
  setting = name: k: v:
    let bad = what: throw "pgnspawn: instance \"${name}\": setting ${quote k} must be ${what}"; in
    if builtins.match "[A-Za-z_][A-Za-z0-9_]*([.][A-Za-z_][A-Za-z0-9_]*)*" k == null then
      bad "named like a PostgreSQL setting (letters, digits, '_', dotted for an extension's)"
    else "${quote k} = " + (
      if builtins.isString v then quote v
      else if builtins.isBool v then (if v then "true" else "false")
      else if builtins.isInt v || builtins.isFloat v then builtins.toJSON v
      else bad "a string, an integer, a float or a boolean");

  table = name: attrs:
    let
      set = builtins.removeAttrs attrs (builtins.filter (k: attrs.${k} == null) (builtins.attrNames attrs));
      unknown = builtins.filter (k: !elem k keys) (builtins.attrNames set);
      has = k: set ? ${k};
    in
    if builtins.match "[A-Za-z0-9][A-Za-z0-9-]{0,47}" name == null then
      throw "pgnspawn: instance name ${quote name} must be 1 to 48 of A-Z, a-z, 0-9 and '-', starting with a letter or digit"
    else if unknown != [ ] then
      throw "pgnspawn: instance \"${name}\": unknown key ${quote (builtins.head unknown)} (known keys: ${builtins.concatStringsSep ", " keys})"
    else if !has "port" then
      throw "pgnspawn: instance \"${name}\" has no \"port\""
    else if has "password" == has "password_file" then
      throw "pgnspawn: instance \"${name}\": set exactly one of \"password\" and \"password_file\""
    else
      "\n[instances.${name}]\n"
      + concatMap (k: if has k then "${k} = ${value name k set.${k}}\n" else "") keys;
in
if !builtins.isAttrs instances then
  throw "pgnspawn: instances must be an attribute set of instances"
else
  "# Generated from services.pgnspawn.instances (nix/lib/toml.nix); edit the Nix configuration, not this file.\n"
  + concatMap (name:
      if builtins.isAttrs instances.${name} then table name instances.${name}
      else throw "pgnspawn: instance \"${name}\" must be an attribute set")
    (builtins.attrNames instances)
