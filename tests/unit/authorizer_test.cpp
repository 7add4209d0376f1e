// The authorizer's decisions: root always, an unidentified caller never, everyone else
// as polkit answers, with a sentence saying what to do. The bus and polkit are a fake
// Authority that answers at once.

#include "bus/authorizer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace pgnspawn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class FakeAuthority : public Authority {
public:
    /// Every question, in order: "uid NAME" or "polkit NAME ACTION [interactive]".
    std::vector<std::string> asked;
    std::map<std::string, uint32_t> uids;  ///< bus names that exist, and their users
    Verdict verdict;                       ///< what polkit answers

    void unix_user(const std::string& bus_name,
                   std::function<void(const std::string& error, uint32_t uid)> done) override {
        asked.push_back("uid " + bus_name);
        if (auto it = uids.find(bus_name); it != uids.end())
            done("", it->second);
        else
            done("Could not get UID of name '" + bus_name + "': no such name", 0);
    }
    void check_authorization(const Caller& caller, const std::string& action,
                             std::function<void(const Verdict&)> done) override {
        asked.push_back("polkit " + caller.bus_name + " " + action +
                        (caller.interactive_allowed ? " interactive" : ""));
        done(verdict);
    }
};

class AuthorizerTest : public ::testing::Test {
protected:
    FakeAuthority authority;
    PolkitAuthorizer authorizer{authority};

    void SetUp() override { authority.uids = {{":1.1", 0}, {":1.2", 1000}}; }

    /// "allowed", the reason it is not, or "no answer".
    std::string decide(const std::string& bus_name, const char* action = action::Manage, bool interactive = false) {
        std::string answer = "no answer";
        authorizer.check(Caller{bus_name, interactive}, action,
                         [&](const std::string& error) { answer = error.empty() ? "allowed" : error; });
        return answer;
    }
};

TEST_F(AuthorizerTest, RootIsAllowedWithoutAskingPolkit) {
    authority.verdict = {"", false, false};
    EXPECT_EQ(decide(":1.1"), "allowed");
    EXPECT_EQ(decide(":1.1", action::ReadCredentials), "allowed");
    EXPECT_THAT(authority.asked, ElementsAre("uid :1.1", "uid :1.1"));
}

TEST_F(AuthorizerTest, ACallerWithoutANameIsRefusedWithoutAskingAnyone) {
    EXPECT_EQ(decide(""), "the caller could not be identified");
    EXPECT_THAT(authority.asked, IsEmpty());
}

TEST_F(AuthorizerTest, ACallerWhoseUserCannotBeFoundIsRefused) {
    EXPECT_EQ(decide(":1.9"), "the caller could not be identified: Could not get UID of name ':1.9': no such name");
    EXPECT_THAT(authority.asked, ElementsAre("uid :1.9")) << "polkit is not asked about an unknown caller";
}

TEST_F(AuthorizerTest, OthersAreAllowedWhenPolkitSaysYes) {
    authority.verdict = {"", true, false};
    EXPECT_EQ(decide(":1.2", action::ReadCredentials), "allowed");
    EXPECT_THAT(authority.asked, ElementsAre("uid :1.2", "polkit :1.2 org.pgnspawn1.read-credentials"));
}

TEST_F(AuthorizerTest, PolkitsNoSaysWhoToAsk) {
    authority.verdict = {"", false, false};
    EXPECT_EQ(decide(":1.2"),
              "org.pgnspawn1.manage is not allowed for this user; ask the administrator to add you to the group "
              "\"pgnspawn\"");
}

TEST_F(AuthorizerTest, PolkitsChallengeSaysHowToAuthenticate) {
    authority.verdict = {"", false, true};
    EXPECT_EQ(decide(":1.2"),
              "org.pgnspawn1.manage requires authentication; run the command from a session with a polkit agent, or "
              "ask the administrator to add you to the group \"pgnspawn\"");
}

TEST_F(AuthorizerTest, APolkitThatCannotBeAskedLeavesOnlyRoot) {
    authority.verdict = {"The name org.freedesktop.PolicyKit1 was not provided by any .service files", true, true};
    EXPECT_EQ(decide(":1.2"),
              "the authorization for org.pgnspawn1.manage could not be checked (The name org.freedesktop.PolicyKit1 "
              "was not provided by any .service files); only root may do this now");
    EXPECT_EQ(decide(":1.1"), "allowed");
}

TEST_F(AuthorizerTest, TheCallersConsentToInteractionIsPassedOn) {
    authority.verdict = {"", true, false};
    EXPECT_EQ(decide(":1.2", action::Manage, true), "allowed");
    EXPECT_THAT(authority.asked, ElementsAre("uid :1.2", "polkit :1.2 org.pgnspawn1.manage interactive"));
}

// --- created instances: the creator needs no polkit --------------------------------------

TEST_F(AuthorizerTest, TheCreatorIsAllowedWithoutPolkitOthersAskForTheAction) {
    authority.uids[":1.3"] = 1001;
    authority.verdict = {"", false, false};
    std::vector<std::string> answers;
    auto record = [&](const std::string& error, uint32_t uid) {
        answers.push_back(std::to_string(uid) + " " + (error.empty() ? "allowed" : "denied"));
    };
    authorizer.check_as(Caller{":1.2", false}, 1000, action::DestroyAny, record);
    authorizer.check_as(Caller{":1.3", false}, 1000, action::DestroyAny, record);
    authorizer.check_as(Caller{":1.1", false}, 1000, action::DestroyAny, record);
    authorizer.check_as(Caller{":1.2", false}, std::nullopt, action::Create, record);
    EXPECT_THAT(answers, ElementsAre("1000 allowed", "1001 denied", "0 allowed", "1000 denied"));
    EXPECT_THAT(authority.asked, ElementsAre("uid :1.2", "uid :1.3", "polkit :1.3 org.pgnspawn1.destroy-any",
                                             "uid :1.1", "uid :1.2", "polkit :1.2 org.pgnspawn1.create"));
}

}  // namespace
}  // namespace pgnspawn
