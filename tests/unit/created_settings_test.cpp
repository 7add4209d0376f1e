// CreateInstance's a{sv} into the file's schema: each D-Bus type as the file would have
// it, nested tables included, and a type no key takes refused naming the key.

#include "bus/created_settings.hpp"
#include "core/errors.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace pgnspawn {
namespace {

using ::testing::HasSubstr;
using VariantMap = std::map<std::string, sdbus::Variant>;

std::string toml_of(const VariantMap& settings) {
    std::ostringstream out;
    out << settings_to_toml(settings);
    return out.str();
}

TEST(CreatedSettings, EachTypeAsTheFileWouldHaveIt) {
    const VariantMap settings{
        {"port", sdbus::Variant(uint16_t{54300})},
        {"a_u", sdbus::Variant(uint32_t{7})},
        {"a_i", sdbus::Variant(int32_t{-3})},
        {"a_x", sdbus::Variant(int64_t{1} << 40)},
        {"database", sdbus::Variant(std::string("app"))},
        {"ephemeral", sdbus::Variant(true)},
        {"databases", sdbus::Variant(std::vector<std::string>{"a", "b"})},
        {"settings", sdbus::Variant(VariantMap{{"max_connections", sdbus::Variant(int32_t{200})},
                                               {"log_statement", sdbus::Variant(std::string("all"))}})},
        {"labels", sdbus::Variant(std::map<std::string, std::string>{{"k", "v"}})},
    };
    const auto t = settings_to_toml(settings);
    EXPECT_EQ(t["port"].value<int64_t>(), 54300);
    EXPECT_EQ(t["a_u"].value<int64_t>(), 7);
    EXPECT_EQ(t["a_i"].value<int64_t>(), -3);
    EXPECT_EQ(t["a_x"].value<int64_t>(), int64_t{1} << 40);
    EXPECT_EQ(t["database"].value<std::string>(), "app");
    EXPECT_EQ(t["ephemeral"].value<bool>(), true);
    ASSERT_TRUE(t["databases"].is_array());
    EXPECT_EQ(t["databases"][1].value<std::string>(), "b");
    EXPECT_EQ(t["settings"]["max_connections"].value<int64_t>(), 200);
    EXPECT_EQ(t["settings"]["log_statement"].value<std::string>(), "all");
    EXPECT_EQ(t["labels"]["k"].value<std::string>(), "v");
}

TEST(CreatedSettings, ATypeNoKeyTakesIsRefusedNamingTheKey) {
    for (const auto& [settings, key] : std::vector<std::pair<VariantMap, std::string>>{
             {{{"port", sdbus::Variant(1.5)}}, "\"port\""},
             {{{"settings", sdbus::Variant(VariantMap{{"x", sdbus::Variant(1.5)}})}}, "\"settings.x\""},
             {{{"ports", sdbus::Variant(std::vector<uint16_t>{1})}}, "\"ports\""},
         }) {
        try {
            toml_of(settings);
            ADD_FAILURE() << key << " was accepted";
        } catch (const DomainError& e) {
            EXPECT_STREQ(e.name(), error_name::InvalidSetting);
            EXPECT_THAT(e.what(), HasSubstr("setting " + key + " has the D-Bus type"));
        }
    }
}

}  // namespace
}  // namespace pgnspawn
