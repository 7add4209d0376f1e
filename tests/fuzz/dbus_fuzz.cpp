// dbus_fuzz: thousands of hostile calls against pgnspawnd's D-Bus surface.
//
//   dbus_fuzz [--calls N] [--seed S] [--time-limit SECONDS] [--parallel N]
//             [--configured NAME,NAME] [--allow-list ERROR,ERROR]
//
// Sends org.pgnspawn1.Manager calls (and unknown members, wrong interfaces, wrong
// argument types and arity, Properties.Get/GetAll on random instance paths) with names
// drawn from a generator of bad input: empty, 10 KB, "../..", "/", unicode, control
// characters, the names of other machines. Every reply must be a method return or an
// error whose name is on the allow-list; a name-taking method must never succeed for a
// name that is not configured; the unique owner of org.pgnspawn1 must be the same
// before and after (a new owner means the daemon died and was activated again).
// Configured names are only ever sent to read-only methods, so the fuzzer never
// starts or stops a real instance. Uses sd-bus directly (not sdbus-c++) so it can
// send what the generated proxies would refuse to.
//
// Exit status: 0 no failures, 1 failures, 2 usage or harness error.
#include <systemd/sd-bus.h>

#include "bus_names.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

using pgnspawn::bus::kInstanceInterface;
using pgnspawn::bus::kManagerInterface;
using pgnspawn::bus::kManagerPath;
constexpr const char* kService = pgnspawn::bus::kBusName;
constexpr const char* kInstancePrefix = pgnspawn::bus::kInstancePathPrefix;
// HealthCheck is bounded by 5 s in the daemon; anything slower than this is a hang.
constexpr uint64_t kCallTimeoutUsec = 30'000'000;
constexpr std::size_t kMaxExamples = 8;

const std::set<std::string> kDefaultAllowList = {
    "org.freedesktop.DBus.Error.InvalidArgs",     "org.freedesktop.DBus.Error.UnknownMethod",
    "org.freedesktop.DBus.Error.UnknownObject",   "org.freedesktop.DBus.Error.UnknownInterface",
    "org.freedesktop.DBus.Error.UnknownProperty", "org.freedesktop.DBus.Error.AccessDenied",
};
constexpr std::string_view kOwnErrorPrefix = pgnspawn::bus::kErrorPrefix;

using Rng = std::mt19937_64;

/// Printable, bounded rendering: never a raw control character or a non-ASCII byte.
std::string printable(std::string_view s, std::size_t max = 80) {
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < max; ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '\\')
            out += "\\\\";
        else if (c < 0x20 || c >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else
            out += static_cast<char>(c);
    }
    if (s.size() > max)
        out += "...(" + std::to_string(s.size()) + " bytes)";
    return out;
}

// --- the generator of bad input ------------------------------------------------------

std::size_t pick(Rng& rng, std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); }

template <typename T, std::size_t N>
const T& pick_from(Rng& rng, const std::array<T, N>& a) {
    return a[pick(rng, N)];
}

void append_utf8(std::string& s, char32_t cp) {
    if (cp < 0x80) {
        s += static_cast<char>(cp);
    } else if (cp < 0x800) {
        s += static_cast<char>(0xc0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        s += static_cast<char>(0xe0 | (cp >> 12));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        s += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        s += static_cast<char>(0xf0 | (cp >> 18));
        s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        s += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

/// A code point D-Bus accepts in a string (no NUL, no surrogates), from ranges that
/// break naive code: C1 controls, Latin-1, Greek, CJK, bidi and zero-width marks,
/// emoji, the last plane (sd-bus refuses the noncharacters U+xFFFE and U+xFFFF).
char32_t random_code_point(Rng& rng) {
    struct Range {
        char32_t lo, hi;
    };
    static constexpr std::array<Range, 10> ranges = {{{0x01, 0x7f},
                                                      {0x80, 0x9f},
                                                      {0xa0, 0xff},
                                                      {0x370, 0x3ff},
                                                      {0x4e00, 0x4fff},
                                                      {0x200b, 0x202e},
                                                      {0xfeff, 0xfeff},
                                                      {0xfff0, 0xfffd},
                                                      {0x1f600, 0x1f64f},
                                                      {0x10fff0, 0x10fffd}}};
    const Range r = pick_from(rng, ranges);
    return static_cast<char32_t>(std::uniform_int_distribution<uint32_t>(r.lo, r.hi)(rng));
}

char random_control(Rng& rng) {
    const auto n = pick(rng, 32);  // \x01..\x1f and \x7f; never NUL, which D-Bus forbids
    return static_cast<char>(n == 0 ? 0x7f : n);
}

std::string random_alnum(Rng& rng, std::size_t len, bool dashes) {
    static constexpr std::string_view chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
    std::string s;
    for (std::size_t i = 0; i < len; ++i)
        s += chars[pick(rng, (dashes && i > 0) ? chars.size() : chars.size() - 1)];
    return s;
}

class NameGenerator {
public:
    NameGenerator(Rng& rng, std::vector<std::string> configured) : rng_(rng), configured_(std::move(configured)) {}

    bool is_configured(const std::string& name) const {
        return std::find(configured_.begin(), configured_.end(), name) != configured_.end();
    }

    /// A hostile name; a configured one only when allow_configured.
    std::string next(bool allow_configured) {
        std::string name = any();
        if (allow_configured && pick(rng_, 8) == 0)
            name = configured_[pick(rng_, configured_.size())];
        while (!allow_configured && is_configured(name))
            name += "x";
        return name;
    }

private:
    std::string any() {
        switch (pick(rng_, 10)) {
            case 0:
            case 1:
                return corpus();
            case 2:
                return controls();
            case 3:
                return long_name();
            case 4:
                return unicode();
            case 5:
                return path_like();
            case 6:
                return mutated();
            case 7:
                return random_alnum(rng_, 1 + pick(rng_, 48), true);  // valid, but not configured
            case 8: {
                std::string s;  // printable ASCII soup
                for (std::size_t i = pick(rng_, 64); i > 0; --i)
                    s += static_cast<char>(0x20 + pick(rng_, 0x5f));
                return s;
            }
            default:
                return next_part() + next_part();  // two of the above glued together
        }
    }

    std::string next_part() { return pick(rng_, 2) ? corpus() : mutated(); }

    std::string corpus() {
        static constexpr std::array<const char*, 58> names = {"",
                                                              "/",
                                                              ".",
                                                              "..",
                                                              "../..",
                                                              "../../..",
                                                              "a/b",
                                                              "../etc",
                                                              "./helloworld",
                                                              "helloworld/../second",
                                                              "/etc/passwd",
                                                              "../../../../etc/shadow",
                                                              "helloworld/",
                                                              "/helloworld",
                                                              "helloworld/.",
                                                              "..%2f..",
                                                              "%2e%2e",
                                                              "_2e_2e",
                                                              "~",
                                                              "~root",
                                                              "*",
                                                              "?",
                                                              "[a-z]",
                                                              "-",
                                                              "-rf",
                                                              "--help",
                                                              ".host",
                                                              "pgnspawn-testhost",
                                                              "pgnspawn-helloworld",
                                                              "pgnspawn-second",
                                                              "pgnspawn-helloworld.service",
                                                              "machine.slice",
                                                              "pgnspawnd",
                                                              "root",
                                                              "postgres",
                                                              "HELLOWORLD",
                                                              "Helloworld",
                                                              "helloworld ",
                                                              " helloworld",
                                                              "hello world",
                                                              "helloworld\n",
                                                              "helloworld\r\nX-Injected: 1",
                                                              "\x1b[31mred\x1b[0m",
                                                              "\x7f",
                                                              "\t",
                                                              "h\u00e9llo",
                                                              "\u6570\u636e\u5e93",
                                                              "\U0001F600",
                                                              "a\u0301",
                                                              "\u202etxt.exe",
                                                              "\ufeffhelloworld",
                                                              "%s%s%n",
                                                              "$(reboot)",
                                                              "`id`",
                                                              "'; DROP DATABASE helloworld; --",
                                                              "0",
                                                              "-1",
                                                              "helloworld\\"};
        return pick_from(rng_, names);
    }

    std::string controls() {
        std::string s;
        for (std::size_t i = 1 + pick(rng_, 20); i > 0; --i)
            s += pick(rng_, 2) ? random_control(rng_) : static_cast<char>('a' + pick(rng_, 26));
        return s;
    }

    std::string long_name() {
        static constexpr std::array<std::size_t, 11> lengths = {47, 48, 49, 63, 64, 65, 255, 256, 4096, 10240, 65536};
        const std::size_t len = pick_from(rng_, lengths);
        switch (pick(rng_, 3)) {
            case 0:
                return std::string(len, 'a');
            case 1:
                return random_alnum(rng_, len, true);
            default: {
                std::string s;  // "../" repeated: a long traversal
                while (s.size() < len)
                    s += "../";
                return s.substr(0, len);
            }
        }
    }

    std::string unicode() {
        std::string s;
        for (std::size_t i = 1 + pick(rng_, 30); i > 0; --i)
            append_utf8(s, random_code_point(rng_));
        return s;
    }

    std::string path_like() {
        static constexpr std::array<const char*, 8> parts = {"..", ".", "", "a", "etc", "helloworld", "second", "var"};
        std::string s = pick(rng_, 3) == 0 ? "/" : "";
        for (std::size_t i = 1 + pick(rng_, 6); i > 0; --i)
            s += std::string(pick_from(rng_, parts)) + (i > 1 ? "/" : "");
        return s;
    }

    std::string mutated() {
        std::string s = configured_[pick(rng_, configured_.size())];
        for (std::size_t i = 1 + pick(rng_, 3); i > 0; --i) {
            std::size_t at = pick(rng_, s.size() + 1);
            while (at > 0 && at < s.size() && (static_cast<unsigned char>(s[at]) & 0xc0) == 0x80)
                --at;  // never split a UTF-8 sequence: sd-bus refuses invalid UTF-8

            switch (pick(rng_, 5)) {
                case 0:
                    s.insert(at, 1, random_control(rng_));
                    break;
                case 1: {
                    std::string cp;
                    append_utf8(cp, random_code_point(rng_));
                    s.insert(at, cp);
                    break;
                }
                case 2:
                    s.insert(at, pick(rng_, 2) ? "/" : "/../");
                    break;
                case 3:
                    if (at < s.size() && static_cast<unsigned char>(s[at]) < 0x80)
                        s[at] = static_cast<char>(s[at] ^ 0x20);  // flips case, or '-' into '\r'
                    break;
                default:
                    s += pick(rng_, 2) ? "-" : "0";
            }
        }
        return s;
    }

    Rng& rng_;
    std::vector<std::string> configured_;
};

// --- calls ---------------------------------------------------------------------------

/// How the arguments of one call are shaped: mostly the right "s", often not.
enum class Shape {
    Name,
    None,
    Int32,
    Uint32,
    TwoStrings,
    StringArray,
    Variant,
    Bytes,
    ObjectPath,
    Signature,
    Struct,
    Dict,
    Bool,
    Double,
    UnixFd
};
constexpr std::array<Shape, 14> kWrongShapes = {Shape::None,        Shape::Int32,   Shape::Uint32, Shape::TwoStrings,
                                                Shape::StringArray, Shape::Variant, Shape::Bytes,  Shape::ObjectPath,
                                                Shape::Signature,   Shape::Struct,  Shape::Dict,   Shape::Bool,
                                                Shape::Double,      Shape::UnixFd};

const char* signature_of(Shape s) {
    switch (s) {
        case Shape::Name:
            return "s";
        case Shape::None:
            return "";
        case Shape::Int32:
            return "i";
        case Shape::Uint32:
            return "u";
        case Shape::TwoStrings:
            return "ss";
        case Shape::StringArray:
            return "as";
        case Shape::Variant:
            return "v";
        case Shape::Bytes:
            return "ay";
        case Shape::ObjectPath:
            return "o";
        case Shape::Signature:
            return "g";
        case Shape::Struct:
            return "(s)";
        case Shape::Dict:
            return "a{ss}";
        case Shape::Bool:
            return "b";
        case Shape::Double:
            return "d";
        case Shape::UnixFd:
            return "h";
    }
    return "";
}

struct Call {
    std::string path;
    std::string interface;  // empty: no interface header
    std::string member;
    Shape shape = Shape::None;
    std::string name;          // the fuzzed string argument, if any
    std::string name2;         // a second string (Properties.Get's property, TwoStrings)
    bool name_taking = false;  // a Manager method that takes an instance name

    std::string describe() const {
        std::string d = printable(path) + " " + (interface.empty() ? "(no interface)" : interface) + "." + member +
                        "(" + signature_of(shape) + ")";
        if (shape == Shape::Name || shape == Shape::TwoStrings || shape == Shape::Variant ||
            shape == Shape::StringArray || shape == Shape::Struct || shape == Shape::Dict)
            d += " \"" + printable(name) + "\"";
        if (shape == Shape::TwoStrings)
            d += " \"" + printable(name2) + "\"";
        return d;
    }
};

class CallGenerator {
public:
    CallGenerator(Rng& rng, NameGenerator& names) : rng_(rng), names_(names) {}

    Call next() {
        const auto roll = pick(rng_, 100);
        if (roll < 70)
            return manager_call();
        if (roll < 80)
            return unknown_member();
        return properties_call();
    }

private:
    Call manager_call() {
        static constexpr std::array<const char*, 6> members = {
            "Start", "Stop", "GetAddress", "HealthCheck", "GetConnectionUri", "ListInstances"};
        Call c;
        c.path = kManagerPath;
        c.interface = pick(rng_, 20) == 0 ? "" : kManagerInterface;
        c.member = pick_from(rng_, members);
        c.name_taking = c.member != "ListInstances";
        const bool read_only = c.member == "GetAddress" || c.member == "HealthCheck" || c.member == "ListInstances";
        if (c.name_taking)
            c.shape = pick(rng_, 4) == 0 ? pick_from(rng_, kWrongShapes) : Shape::Name;
        else
            c.shape = pick(rng_, 3) == 0 ? pick_from(rng_, kWrongShapes) : Shape::None;
        if (c.shape == Shape::None && !c.name_taking)
            return c;
        c.name = names_.next(read_only);
        if (c.shape == Shape::TwoStrings)
            c.name2 = names_.next(read_only);
        return c;
    }

    Call unknown_member() {
        static constexpr std::array<const char*, 10> members = {
            "Frobnicate", "start", "STOP", "StartInstance", "Delete", "Reload", "Get", "Introspect", "Ping", "X"};
        static constexpr std::array<const char*, 5> interfaces = {
            kManagerInterface, kInstanceInterface, "org.pgnspawn1.Bogus", "org.freedesktop.DBus.Peer", ""};
        Call c;
        c.path = pick(rng_, 4) == 0 ? random_instance_path() : kManagerPath;
        c.interface = pick_from(rng_, interfaces);
        c.member = pick(rng_, 10) == 0 ? std::string(255, 'M') : pick_from(rng_, members);
        // Peer.Ping and Introspect exist on every object; anything else must be unknown.
        if (c.interface == "org.freedesktop.DBus.Peer" || c.interface.empty())
            c.member = pick(rng_, 2) ? "Frobnicate" : c.member;
        c.shape = pick(rng_, 2) ? Shape::Name : Shape::None;
        if (c.shape == Shape::Name)
            c.name = names_.next(false);
        return c;
    }

    Call properties_call() {
        static constexpr std::array<const char*, 5> interfaces = {kInstanceInterface, kInstanceInterface,
                                                                  kManagerInterface, "org.pgnspawn1.Bogus", ""};
        static constexpr std::array<const char*, 7> properties = {"Name",     "State",   "Port", "LastError",
                                                                  "Password", "Machine", ""};
        Call c;
        c.path = random_instance_path();
        c.interface = "org.freedesktop.DBus.Properties";
        const bool get_all = pick(rng_, 3) == 0;
        c.member = get_all ? "GetAll" : "Get";
        if (pick(rng_, 8) == 0) {
            c.shape = pick_from(rng_, kWrongShapes);
            c.name = names_.next(true);
            return c;
        }
        c.name = pick(rng_, 4) == 0 ? names_.next(true) : pick_from(rng_, interfaces);
        if (get_all) {
            c.shape = Shape::Name;
        } else {
            c.shape = Shape::TwoStrings;
            c.name2 = pick(rng_, 3) == 0 ? names_.next(true) : pick_from(rng_, properties);
        }
        return c;
    }

    /// Any string becomes a valid object path through sd_bus_path_encode; a few fixed
    /// paths cover the manager, the prefix itself and the root.
    std::string random_instance_path() {
        static constexpr std::array<const char*, 5> fixed = {
            "/", kManagerPath, kInstancePrefix, "/org/pgnspawn1/instance/helloworld/x", "/org/pgnspawn1/x"};
        if (pick(rng_, 6) == 0)
            return pick_from(rng_, fixed);
        char* path = nullptr;
        std::string name = names_.next(true);
        name.resize(std::min<std::size_t>(name.size(), 16384));  // sd-bus refuses paths of 64 KiB
        if (sd_bus_path_encode(kInstancePrefix, name.c_str(), &path) < 0)
            return kInstancePrefix;
        std::string out(path);
        std::free(path);
        return out;
    }

    Rng& rng_;
    NameGenerator& names_;
};

/// Appends the arguments of c to m; a negative errno when sd-bus refuses them.
int append_arguments(sd_bus_message* m, const Call& c, int devnull) {
    const char* name = c.name.c_str();
    switch (c.shape) {
        case Shape::Name:
            return sd_bus_message_append(m, "s", name);
        case Shape::None:
            return 0;
        case Shape::Int32:
            return sd_bus_message_append(m, "i", static_cast<int32_t>(c.name.size()) - 5);
        case Shape::Uint32:
            return sd_bus_message_append(m, "u", static_cast<uint32_t>(0xffffffffu));
        case Shape::TwoStrings:
            return sd_bus_message_append(m, "ss", name, c.name2.c_str());
        case Shape::StringArray:
            return sd_bus_message_append(m, "as", 2, name, name);
        case Shape::Variant:
            return sd_bus_message_append(m, "v", "s", name);
        case Shape::Bytes: {
            // A byte array may carry NUL: the one way to smuggle it into a name.
            std::string bytes = c.name + std::string(1, '\0') + "helloworld";
            return sd_bus_message_append_array(m, 'y', bytes.data(), bytes.size());
        }
        case Shape::ObjectPath:
            return sd_bus_message_append(m, "o", "/org/pgnspawn1/instance/helloworld");
        case Shape::Signature:
            return sd_bus_message_append(m, "g", "a{sv}");
        case Shape::Struct:
            return sd_bus_message_append(m, "(s)", name);
        case Shape::Dict:
            return sd_bus_message_append(m, "a{ss}", 1, "name", name);
        case Shape::Bool:
            return sd_bus_message_append(m, "b", 1);
        case Shape::Double:
            return sd_bus_message_append(m, "d", -0.0);
        case Shape::UnixFd:
            return sd_bus_message_append(m, "h", devnull);
    }
    return -EINVAL;
}

// --- running and judging -------------------------------------------------------------

struct Options {
    long calls = 5000;
    uint64_t seed = 0;
    bool seed_given = false;
    double time_limit = 120;
    long parallel = 8;
    std::vector<std::string> configured = {"helloworld", "second"};
    std::set<std::string> allow = kDefaultAllowList;
};

class Fuzzer {
public:
    Fuzzer(sd_bus* bus, const Options& options) : bus_(bus), options_(options) {}

    struct Pending {
        Fuzzer* fuzzer;
        Call call;
    };

    void judge(const Call& call, sd_bus_message* reply) {
        ++replies_;
        if (!sd_bus_message_is_method_error(reply, nullptr)) {
            ++by_name_["(method return)"];
            // A name-taking method may succeed only for a configured name, and the
            // fuzzer sends configured names only to the read-only ones.
            const bool configured = call.shape == Shape::Name &&
                                    std::find(options_.configured.begin(), options_.configured.end(), call.name) !=
                                        options_.configured.end();
            if (call.name_taking && !configured)
                failure(call, "(method return)", "succeeded for a name that is not configured");
            return;
        }
        const sd_bus_error* e = sd_bus_message_get_error(reply);
        const std::string name = e && e->name ? e->name : "(no error name)";
        const std::string message = e && e->message ? e->message : "";
        ++by_name_[name];
        if (!(name.starts_with(kOwnErrorPrefix) || options_.allow.contains(name)))
            failure(call, name, message);
    }

    void failure(const Call& call, const std::string& name, const std::string& message) {
        ++failures_;
        if (examples_.size() < kMaxExamples)
            examples_.push_back(call.describe() + "\n      -> " + printable(name) + ": " + printable(message, 200));
    }

    static int on_reply(sd_bus_message* reply, void* userdata, sd_bus_error*) {
        auto* pending = static_cast<Pending*>(userdata);
        pending->fuzzer->judge(pending->call, reply);
        --pending->fuzzer->in_flight_;
        delete pending;
        return 0;
    }

    /// Sends one call without waiting; false when sd-bus refused to build or queue it.
    bool send(const Call& call, int devnull) {
        sd_bus_message* m = nullptr;
        int r = sd_bus_message_new_method_call(bus_, &m, kService, call.path.c_str(),
                                               call.interface.empty() ? nullptr : call.interface.c_str(),
                                               call.member.c_str());
        if (r >= 0)
            r = append_arguments(m, call, devnull);
        auto* pending = new Pending{this, call};
        if (r >= 0)
            r = sd_bus_call_async(bus_, nullptr, m, on_reply, pending, kCallTimeoutUsec);
        sd_bus_message_unref(m);
        if (r < 0) {
            delete pending;
            ++local_refusals_;
            if (refusal_examples_.size() < 3)
                refusal_examples_.push_back(call.describe() + ": " + std::strerror(-r));
            return false;
        }
        ++sent_;
        ++in_flight_;
        ++by_member_[call.member.size() > 32 ? "(long unknown member)" : call.member];
        return true;
    }

    long sent_ = 0, replies_ = 0, failures_ = 0, in_flight_ = 0, local_refusals_ = 0;
    std::map<std::string, long> by_name_, by_member_;
    std::vector<std::string> examples_, refusal_examples_;

private:
    sd_bus* bus_;
    const Options& options_;
};

/// The unique name that owns org.pgnspawn1 now, or "" with the reason in why.
std::string owner(sd_bus* bus, std::string& why) {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    std::string out;
    int r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetNameOwner", &error, &reply, "s", kService);
    const char* unique = nullptr;
    if (r >= 0 && sd_bus_message_read(reply, "s", &unique) > 0)
        out = unique;
    else
        why = error.name ? std::string(error.name) + ": " + printable(error.message ? error.message : "")
                         : std::strerror(-r);
    sd_bus_error_free(&error);
    sd_bus_message_unref(reply);
    return out;
}

/// ListInstances, synchronously: activates the daemon and proves it answers.
bool list_instances(sd_bus* bus, std::string& why) {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    int r = sd_bus_call_method(bus, kService, kManagerPath, kManagerInterface, "ListInstances", &error, &reply, "");
    if (r < 0)
        why = error.name ? std::string(error.name) + ": " + printable(error.message ? error.message : "")
                         : std::strerror(-r);
    sd_bus_error_free(&error);
    sd_bus_message_unref(reply);
    return r >= 0;
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        const std::size_t comma = std::min(s.find(',', start), s.size());
        if (comma > start)
            out.push_back(s.substr(start, comma - start));
        start = comma + 1;
    }
    return out;
}

bool parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const bool has_value = i + 1 < argc;
        char* end = nullptr;
        if (arg == "--calls" && has_value) {
            o.calls = std::strtol(argv[++i], &end, 10);
            if (*end || o.calls < 0)
                return false;
        } else if (arg == "--seed" && has_value) {
            o.seed = std::strtoull(argv[++i], &end, 10);
            o.seed_given = true;
            if (*end)
                return false;
        } else if (arg == "--time-limit" && has_value) {
            o.time_limit = std::strtod(argv[++i], &end);
            if (*end || o.time_limit <= 0)
                return false;
        } else if (arg == "--parallel" && has_value) {
            o.parallel = std::strtol(argv[++i], &end, 10);
            if (*end || o.parallel < 1 || o.parallel > 64)
                return false;
        } else if (arg == "--configured" && has_value) {
            o.configured = split(argv[++i]);
            if (o.configured.empty())
                return false;
        } else if (arg == "--allow-list" && has_value) {
            auto names = split(argv[++i]);
            o.allow = std::set<std::string>(names.begin(), names.end());
        } else {
            return false;
        }
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (!parse(argc, argv, options)) {
        std::fprintf(stderr,
                     "usage: dbus_fuzz [--calls N] [--seed S] [--time-limit SECONDS] [--parallel N]\n"
                     "                 [--configured NAME,NAME] [--allow-list ERROR,ERROR]\n");
        return 2;
    }
    if (!options.seed_given)
        options.seed = std::random_device{}();
    std::printf("dbus_fuzz: seed %llu, up to %ld calls, %ld in flight, time limit %.0f s\n",
                static_cast<unsigned long long>(options.seed), options.calls, options.parallel, options.time_limit);

    sd_bus* bus = nullptr;
    if (int r = sd_bus_open_system(&bus); r < 0) {
        std::fprintf(stderr, "dbus_fuzz: cannot connect to the system bus: %s\n", std::strerror(-r));
        return 2;
    }
    std::string why;
    if (!list_instances(bus, why)) {
        std::printf("dbus_fuzz: FAILED: ListInstances before fuzzing: %s\n", why.c_str());
        return 1;
    }
    const std::string owner_before = owner(bus, why);
    if (owner_before.empty()) {
        std::printf("dbus_fuzz: FAILED: no owner of %s before fuzzing: %s\n", kService, why.c_str());
        return 1;
    }

    const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    Rng rng(options.seed);
    NameGenerator names(rng, options.configured);
    CallGenerator calls(rng, names);
    Fuzzer fuzzer(bus, options);

    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    const auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
    // Replies still owed when time is up get the call timeout to arrive, no more.
    const double drain_limit = options.time_limit + kCallTimeoutUsec / 1e6 + 5;
    bool timed_out = false, bus_lost = false;
    long generated = 0;
    while (true) {
        const bool may_send = generated < options.calls && elapsed() < options.time_limit;
        while (may_send && fuzzer.in_flight_ < options.parallel && generated < options.calls) {
            ++generated;
            fuzzer.send(calls.next(), devnull);
        }
        if (!may_send && generated < options.calls)
            timed_out = true;
        if (fuzzer.in_flight_ == 0 && !may_send)
            break;
        if (elapsed() > drain_limit) {
            std::printf("dbus_fuzz: %ld replies never arrived\n", fuzzer.in_flight_);
            fuzzer.failures_ += fuzzer.in_flight_;
            break;
        }
        int r = sd_bus_process(bus, nullptr);
        if (r < 0) {
            std::printf("dbus_fuzz: the bus connection failed: %s\n", std::strerror(-r));
            bus_lost = true;
            break;
        }
        if (r > 0)
            continue;
        sd_bus_wait(bus, 500'000);  // wakes at least twice a second to check the clock
    }
    const double seconds = elapsed();

    std::string why_after;
    const bool answers_after = !bus_lost && list_instances(bus, why_after);
    const std::string owner_after = bus_lost ? "" : owner(bus, why_after);

    std::printf("dbus_fuzz: %ld calls sent, %ld replies in %.1f s (%.0f calls/s)%s\n", fuzzer.sent_, fuzzer.replies_,
                seconds, seconds > 0 ? fuzzer.replies_ / seconds : 0.0,
                timed_out ? ", stopped early by the time limit" : "");
    std::printf("calls by member:");
    for (const auto& [member, count] : fuzzer.by_member_)
        std::printf(" %s %ld", member.c_str(), count);
    std::printf("\nreplies by name:\n");
    for (const auto& [name, count] : fuzzer.by_name_)
        std::printf("  %8ld  %s\n", count, printable(name).c_str());
    std::printf("owner of %s: %s before, %s after\n", kService, owner_before.c_str(),
                owner_after.empty() ? ("none (" + why_after + ")").c_str() : owner_after.c_str());

    long problems = fuzzer.failures_;
    if (owner_after != owner_before) {
        std::printf("FAILURE: the owner of %s changed: the daemon died during the run\n", kService);
        ++problems;
    }
    if (!answers_after) {
        std::printf("FAILURE: ListInstances after fuzzing: %s\n", bus_lost ? "bus lost" : why_after.c_str());
        ++problems;
    }
    if (fuzzer.local_refusals_ > 0) {
        // A generator bug, not a daemon bug: those calls were never sent.
        std::printf("HARNESS ERROR: sd-bus refused to send %ld generated calls, e.g.:\n", fuzzer.local_refusals_);
        for (const auto& e : fuzzer.refusal_examples_)
            std::printf("  %s\n", e.c_str());
        ++problems;
    }
    if (fuzzer.failures_ > 0) {
        std::printf("failures: %ld, first ones:\n", fuzzer.failures_);
        for (const auto& e : fuzzer.examples_)
            std::printf("  %s\n", e.c_str());
    }
    if (fuzzer.sent_ == 0) {
        std::printf("FAILURE: nothing was sent\n");
        ++problems;
    }
    if (devnull >= 0)
        close(devnull);
    sd_bus_flush_close_unref(bus);
    if (problems > 0) {
        std::printf("dbus_fuzz: FAILED (%ld problems, seed %llu)\n", problems,
                    static_cast<unsigned long long>(options.seed));
        return 1;
    }
    std::printf("dbus_fuzz: OK, %ld calls, %.0f calls/s, seed %llu\n", fuzzer.replies_,
                seconds > 0 ? fuzzer.replies_ / seconds : 0.0, static_cast<unsigned long long>(options.seed));
    return 0;
}
