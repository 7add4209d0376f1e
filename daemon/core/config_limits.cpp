#include "core/config_limits.hpp"

#include "core/config.hpp"

#include <fmt/format.h>

namespace pgnspawn {

namespace {

/// Walks TOML text as the lexer sees it: comments, the four kinds of strings, and
/// everything else, where it counts the dots of the current key and the nesting depth.
class LimitScanner {
public:
    LimitScanner(std::string_view text, const std::string& source) : text_(text), source_(source) {}

    void run() {
        while (i_ < text_.size()) {
            const char c = text_[i_];
            if (c == '\n') {
                if (mode_ == Mode::Comment || mode_ == Mode::Basic || mode_ == Mode::Literal)
                    mode_ = Mode::Normal;
                ++line_;
                column_ = 0;
                dots_ = 0;
                ++i_;
                continue;
            }
            step(c);
        }
    }

private:
    enum class Mode { Normal, Comment, Basic, Literal, MultiBasic, MultiLiteral };

    [[noreturn]] void fail(const std::string& what) const {
        throw ConfigError(fmt::format("{}:{}:{}: {}", source_, line_, column_, what));
    }

    /// Moves past one byte; columns count UTF-8 characters, as toml++'s do.
    void advance() {
        if ((static_cast<unsigned char>(text_[i_]) & 0xC0) != 0x80)
            ++column_;
        ++i_;
    }
    bool at(std::string_view s) const { return text_.substr(i_, s.size()) == s; }
    void advance(std::size_t n) {
        for (std::size_t k = 0; k < n && i_ < text_.size(); ++k)
            advance();
    }

    void step(char c) {
        advance();
        switch (mode_) {
            case Mode::Comment:
                return;
            case Mode::Basic:
            case Mode::MultiBasic:
                if (c == '\\') {
                    if (i_ < text_.size() && text_[i_] != '\n')
                        advance();  // the escaped character, e.g. \" or "\\"
                } else if (c == '"' && (mode_ == Mode::Basic || closes("\"\""))) {
                    mode_ = Mode::Normal;
                }
                return;
            case Mode::Literal:
            case Mode::MultiLiteral:
                if (c == '\'' && (mode_ == Mode::Literal || closes("''")))
                    mode_ = Mode::Normal;
                return;
            case Mode::Normal:
                normal(c);
                return;
        }
    }

    /// After the first quote of a multi-line string's closing delimiter: whether `rest`
    /// follows; if so, moves past it and up to two more quotes (which belong to the string).
    bool closes(std::string_view rest) {
        if (!at(rest))
            return false;
        advance(rest.size());
        for (int extra = 0; extra < 2 && i_ < text_.size() && text_[i_] == rest[0]; ++extra)
            advance();
        return true;
    }

    void normal(char c) {
        switch (c) {
            case '#':
                mode_ = Mode::Comment;
                return;
            case '"':
            case '\'': {
                const std::string_view two = c == '"' ? "\"\"" : "''";
                const bool multi = at(two);
                if (multi)
                    advance(2);
                mode_ =
                    c == '"' ? (multi ? Mode::MultiBasic : Mode::Basic) : (multi ? Mode::MultiLiteral : Mode::Literal);
                return;
            }
            case '.':
                if (++dots_ >= kMaxKeyParts)
                    fail(fmt::format("a key of more than {} dotted parts (the limit is {})", kMaxKeyParts,
                                     kMaxKeyParts));
                return;
            case '[':
            case '{':
                dots_ = 0;
                if (++depth_ > kMaxNesting)
                    fail(
                        fmt::format("arrays, inline tables and table headers nested more than {} deep (the limit "
                                    "is {})",
                                    kMaxNesting, kMaxNesting));
                return;
            case ']':
            case '}':
                dots_ = 0;
                if (depth_ > 0)
                    --depth_;
                return;
            case '=':
            case ',':
                dots_ = 0;  // a new key or value begins
                return;
            default:
                return;
        }
    }

    std::string_view text_;
    const std::string& source_;
    std::size_t i_ = 0;
    std::size_t line_ = 1;
    std::size_t column_ = 0;  ///< of the byte before i_
    std::size_t dots_ = 0;    ///< in the current key or value
    std::size_t depth_ = 0;
    Mode mode_ = Mode::Normal;
};

}  // namespace

void check_config_limits(std::string_view text, const std::string& source_name) {
    if (text.size() > kMaxConfigBytes)
        throw ConfigError(
            fmt::format("{}: more than the 1 MiB a configuration file may have ({} bytes)", source_name, text.size()));
    LimitScanner(text, source_name).run();
}

}  // namespace pgnspawn
