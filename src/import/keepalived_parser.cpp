#include "import/keepalived_parser.hpp"

#include <algorithm>
#include <utility>

#include "import/utf8_text.hpp"

namespace vigil::import {

namespace {

enum class token_kind { word, open_brace, close_brace, end_of_line };

struct token {
    token_kind kind = token_kind::word;
    std::string text;
    unsigned line = 0;
    bool quoted = false;
};

bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

// One file's text as tokens; every logical line ends with end_of_line, so a file's end always
// ends the statement in progress.
class tokenizer {
  public:
    tokenizer(std::string_view file, const parse_options& options,
              std::vector<import_diagnostic>& warnings)
        : file_(file), options_(options), warnings_(warnings) {}

    // Returns nothing (and sets error) when a quoted string is not closed on its line.
    std::optional<std::vector<token>> run(std::string_view text,
                                          std::optional<import_diagnostic>& error) {
        std::vector<token> tokens;
        unsigned line_number = 0;
        std::size_t at = 0;
        while (at < text.size()) {
            // A logical line: physical lines joined while they end in a backslash.
            std::string logical;
            unsigned first_line = line_number + 1;
            while (at < text.size()) {
                auto end = text.find('\n', at);
                auto physical = text.substr(at, end == std::string_view::npos ? end : end - at);
                at = end == std::string_view::npos ? text.size() : end + 1;
                ++line_number;
                while (!physical.empty() && is_blank(physical.back())) {
                    physical.remove_suffix(1);
                }
                if (!physical.empty() && physical.back() == '\\') {
                    physical.remove_suffix(1);
                    logical.append(physical);
                    logical.push_back(' ');
                    continue;
                }
                logical.append(physical);
                break;
            }
            if (!line(logical, first_line, tokens, error)) {
                return std::nullopt;
            }
        }
        return tokens;
    }

  private:
    void warn(unsigned line, std::string message) {
        warnings_.push_back({{file_, line}, severity::warning, std::move(message)});
    }

    // Drops the "@ID" prefix of a conditional line; false when the line is not for this node.
    bool keep_conditional(std::string_view& rest, unsigned line_number) {
        std::size_t end = 0;
        while (end < rest.size() && !is_blank(rest[end])) {
            ++end;
        }
        std::string_view id = rest.substr(1, end - 1);
        rest.remove_prefix(end);
        bool negated = !id.empty() && id.front() == '^';
        if (negated) {
            id.remove_prefix(1);
        }
        bool matches = options_.config_id && *options_.config_id == id;
        bool keep = negated ? !matches : matches;
        if (!keep && !options_.config_id) {
            warn(line_number, "line for configuration id '" + std::string(id) +
                                  "' skipped (keepalived -i; give --config-id to keep it)");
        }
        return keep;
    }

    bool line(std::string_view raw, unsigned line_number, std::vector<token>& tokens,
              std::optional<import_diagnostic>& error) {
        std::string repaired;
        std::string_view text = raw;
        if (!is_valid_utf8(raw)) {
            repaired = valid_utf8(raw);
            text = repaired;
            warn(line_number, "line is not valid UTF-8: the bad bytes read as U+FFFD");
        }
        std::size_t start = 0;
        while (start < text.size() && is_blank(text[start])) {
            ++start;
        }
        std::string_view rest = text.substr(start);
        if (!rest.empty() && rest.front() == '@') {
            if (!keep_conditional(rest, line_number)) {
                return true;
            }
        }
        while (!rest.empty() && is_blank(rest.front())) {
            rest.remove_prefix(1);
        }
        if (!rest.empty() && rest.front() == '$') {
            warn(line_number,
                 "parameter definitions and substitutions ($NAME) are not supported: line "
                 "skipped");
            return true;
        }
        std::size_t i = 0;
        bool any = false;
        while (i < rest.size()) {
            char c = rest[i];
            if (is_blank(c)) {
                ++i;
                continue;
            }
            if (c == '!' || c == '#') {
                break;
            }
            any = true;
            if (c == '{' || c == '}') {
                tokens.push_back({c == '{' ? token_kind::open_brace : token_kind::close_brace,
                                  std::string(1, c), line_number, false});
                ++i;
                continue;
            }
            if (c == '"') {
                auto close = rest.find('"', i + 1);
                if (close == std::string_view::npos) {
                    error = import_diagnostic{
                        {file_, line_number}, severity::error, "quoted string is not closed"};
                    return false;
                }
                tokens.push_back({token_kind::word, std::string(rest.substr(i + 1, close - i - 1)),
                                  line_number, true});
                i = close + 1;
                continue;
            }
            std::size_t end = i;
            while (end < rest.size() && !is_blank(rest[end]) && rest[end] != '{' &&
                   rest[end] != '}') {
                ++end;
            }
            tokens.push_back(
                {token_kind::word, std::string(rest.substr(i, end - i)), line_number, false});
            i = end;
        }
        if (any) {
            tokens.push_back({token_kind::end_of_line, {}, line_number, false});
        }
        return true;
    }

    std::string file_;
    const parse_options& options_;
    std::vector<import_diagnostic>& warnings_;
};

// Reads statements from a stack of token streams: an include pushes the included files, so their
// statements land where the include stood, as keepalived splices them.
class statement_reader {
  public:
    statement_reader(include_resolver& resolver, const parse_options& options, parse_result& result)
        : resolver_(resolver), options_(options), result_(result) {}

    bool push(std::string_view text, std::string_view file) {
        tokenizer t(file, options_, result_.warnings);
        auto tokens = t.run(text, result_.error);
        if (!tokens) {
            return false;
        }
        ++files_read_;
        sources_.push_back({std::string(file), std::move(*tokens), 0});
        return true;
    }

    std::vector<keepalived_statement> block(unsigned depth, const source_position& opened) {
        std::vector<keepalived_statement> statements;
        while (!result_.error) {
            const token* t = peek();
            if (!t) {
                if (depth > 0) {
                    fail(opened, "block opened here is never closed");
                }
                break;
            }
            if (t->kind == token_kind::end_of_line) {
                advance();
                continue;
            }
            if (t->kind == token_kind::close_brace) {
                auto where = position(*t);
                advance();
                if (depth > 0) {
                    break;
                }
                warn(where, "'}' closes no block: ignored");
                continue;
            }
            if (t->kind == token_kind::open_brace) {
                // A brace on its own line opens the block of the statement just before it.
                auto where = position(*t);
                advance();
                if (!statements.empty() && !statements.back().has_block) {
                    statements.back().has_block = true;
                    statements.back().block = nested(depth, where);
                } else {
                    warn(where, "block without a keyword: skipped");
                    nested(depth, where);
                }
                continue;
            }
            statement(depth, statements);
        }
        return statements;
    }

  private:
    struct source {
        std::string file;
        std::vector<token> tokens;
        std::size_t next = 0;
    };

    const token* peek() {
        while (!sources_.empty() && sources_.back().next >= sources_.back().tokens.size()) {
            sources_.pop_back();
        }
        return sources_.empty() ? nullptr : &sources_.back().tokens[sources_.back().next];
    }
    void advance() { ++sources_.back().next; }
    source_position position(const token& t) const { return {sources_.back().file, t.line}; }

    void warn(const source_position& where, std::string message) {
        result_.warnings.push_back({where, severity::warning, std::move(message)});
    }
    void fail(const source_position& where, std::string message) {
        if (!result_.error) {
            result_.error = import_diagnostic{where, severity::error, std::move(message)};
        }
    }

    std::vector<keepalived_statement> nested(unsigned depth, const source_position& opened) {
        if (depth + 1 > options_.max_block_depth) {
            fail(opened, "blocks nested deeper than " + std::to_string(options_.max_block_depth));
            return {};
        }
        return block(depth + 1, opened);
    }

    void statement(unsigned depth, std::vector<keepalived_statement>& statements) {
        const token& first = *peek();
        keepalived_statement s;
        s.keyword = first.text;
        s.where = position(first);
        bool include = !first.quoted && first.text == "include";
        advance();
        // The arguments run to the end of the line, a block, or a '}' closing the enclosing one.
        // A source's end is an end of line too: every tokenized line ends with one.
        while (const token* t = peek()) {
            if (t->kind == token_kind::word) {
                s.arguments.push_back(t->text);
                advance();
                continue;
            }
            if (t->kind == token_kind::end_of_line) {
                advance();
            } else if (t->kind == token_kind::open_brace && !include) {
                auto where = position(*t);
                advance();
                s.has_block = true;
                s.block = nested(depth, where);
            }
            break;
        }
        if (include) {
            include_files(s);
            return;
        }
        statements.push_back(std::move(s));
    }

    void include_files(const keepalived_statement& s) {
        if (s.arguments.size() != 1) {
            warn(s.where, "include takes one file or glob: ignored");
            return;
        }
        if (sources_.size() >= options_.max_include_depth) {
            warn(s.where, "include '" + s.arguments[0] + "' nested deeper than " +
                              std::to_string(options_.max_include_depth) + " files: skipped");
            return;
        }
        auto found = resolver_.resolve(s.arguments[0], s.where.file);
        if (found.files.empty()) {
            warn(s.where, "include '" + s.arguments[0] +
                              "': " + (found.error.empty() ? "matches no file" : found.error));
            return;
        }
        // Pushed last-first, so the first match is read first.
        std::vector<included_file> accepted;
        for (auto& file : found.files) {
            bool active = std::any_of(sources_.begin(), sources_.end(),
                                      [&](const source& open) { return open.file == file.path; });
            if (active) {
                warn(s.where, "include cycle: '" + file.path + "' is already being read: skipped");
            } else if (files_read_ + accepted.size() >= options_.max_files) {
                warn(s.where, "more than " + std::to_string(options_.max_files) +
                                  " files included: '" + file.path + "' skipped");
            } else {
                accepted.push_back(std::move(file));
            }
        }
        for (auto it = accepted.rbegin(); it != accepted.rend(); ++it) {
            if (!push(it->text, it->path)) {
                return;
            }
        }
    }

    include_resolver& resolver_;
    const parse_options& options_;
    parse_result& result_;
    std::vector<source> sources_;
    std::size_t files_read_ = 0;
};

}  // namespace

parse_result parse_keepalived(std::string_view text, std::string_view file_name,
                              include_resolver& resolver, const parse_options& options) {
    parse_result result;
    statement_reader reader(resolver, options, result);
    if (reader.push(text, file_name)) {
        result.statements = reader.block(0, {std::string(file_name), 0});
    }
    if (result.error) {
        result.statements.clear();
    }
    return result;
}

std::vector<std::string> split_command(std::string_view command) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    char quote = 0;
    for (std::size_t i = 0; i < command.size(); ++i) {
        char c = command[i];
        if (quote) {
            if (c == quote) {
                quote = 0;
            } else if (c == '\\' && quote == '"' && i + 1 < command.size()) {
                word.push_back(command[++i]);
            } else {
                word.push_back(c);
            }
            continue;
        }
        if (is_blank(c) || c == '\n') {
            if (in_word) {
                words.push_back(std::move(word));
                word.clear();
                in_word = false;
            }
            continue;
        }
        in_word = true;
        if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '\\' && i + 1 < command.size()) {
            word.push_back(command[++i]);
        } else {
            word.push_back(c);
        }
    }
    if (in_word) {
        words.push_back(std::move(word));
    }
    return words;
}

}  // namespace vigil::import
