# Instance values shaped as the NixOS module hands them to the generator (issue 11): an
# attrsOf submodule's values carry EVERY option of the submodule, each either set or at
# its default (null for the optional keys), never a missing attribute. The option names
# and defaults come from ../module.nix itself, evaluated here without nixpkgs: `lib` below
# is a stand-in whose mkOption returns its arguments and whose types are plain records,
# enough to read services.pgnspawn.instances' submodule declarations (the module's config
# section is not evaluated). tests/nix/check.sh renders the example through this shaping
# and expects the same golden TOML as for the plain values.
#
#   import ./nixos-shaped.nix                 -> { options = [ names ]; shape = instances -> instances; }
let
  type = name: { inherit name; };
  types = {
    attrsOf = elemType: type "attrsOf" // { inherit elemType; };
    submodule = module: type "submodule" // { inherit module; };
    nullOr = t: type "nullOr" // { inner = t; };
    listOf = t: type "listOf";
    either = a: b: type "either";
    coercedTo = from: f: to: type "coercedTo";
    enum = values: type "enum";
    strMatching = re: type "strMatching";
    ints = { positive = type "positive"; unsigned = type "unsigned"; };
    bool = type "bool"; str = type "str"; lines = type "lines"; port = type "port"; int = type "int";
    path = type "path"; package = type "package"; attrs = type "attrs"; anything = type "anything";
  };
  lib = {
    inherit types;
    mkOption = args: args // { _isOption = true; };
    mkEnableOption = what: { default = false; _isOption = true; };
    mkIf = cond: value: { };
    mkDefault = v: v; mkForce = v: v;
    literalExpression = text: text;
    optional = cond: x: if cond then [ x ] else [ ];
  };
  module = import ../module.nix {
    inherit lib;
    config.services.pgnspawn = { enable = false; instances = { }; };
    pkgs = { };
  };
  instancesType = module.options.services.pgnspawn.instances.type;
  declared = instancesType.elemType.module.options;
  names = builtins.attrNames declared;
  # What the submodule merge yields for one definition: every option, given or defaulted.
  # An option without a default that is not given is left out (NixOS would fail with
  # "option used but not defined" the moment it is read; the generator reports it too).
  shapeOne = given: builtins.listToAttrs (builtins.concatMap (n:
    if given ? ${n} then [ { name = n; value = given.${n}; } ]
    else if declared.${n} ? default then [ { name = n; value = declared.${n}.default; } ]
    else [ ]) names)
    // builtins.removeAttrs given names;
in
assert instancesType.name == "attrsOf" && instancesType.elemType.name == "submodule";
{
  options = names;
  shape = instances: builtins.mapAttrs (_: shapeOne) instances;
}
