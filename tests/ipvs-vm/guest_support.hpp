#pragma once

// Helpers for the programs that run inside the IPVS guest: shell commands, ipvsadm's output in a
// comparable form, and table builders.

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "base/address.hpp"
#include "ipvs/model.hpp"

namespace vigil::ipvs::guest {

struct command_result {
    int status = -1;
    std::string output;  // stdout and stderr
};

inline command_result run(const std::string& command) {
    command_result result;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe) {
        return result;
    }
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) {
        result.output.append(buffer, n);
    }
    int status = ::pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

// Whitespace runs collapse to one space and trailing space goes, so column widths don't matter.
inline std::string collapse(const std::string& line) {
    std::string out;
    bool space = false;
    for (char c : line) {
        if (c == ' ' || c == '\t') {
            space = !out.empty();
            continue;
        }
        if (space) {
            out += ' ';
            space = false;
        }
        out += c;
    }
    return out;
}

// The service and destination lines of `ipvsadm -Ln` (title lines dropped), collapsed.
inline std::string ipvsadm_table(const std::string& arguments = "-Ln") {
    auto listing = run("ipvsadm " + arguments).output;
    std::istringstream in(listing);
    std::string line;
    std::string out;
    while (std::getline(in, line)) {
        bool service = line.rfind("TCP ", 0) == 0 || line.rfind("UDP ", 0) == 0 ||
                       line.rfind("SCTP ", 0) == 0 || line.rfind("FWM ", 0) == 0;
        bool dest = line.rfind("  -> ", 0) == 0 && line.find("RemoteAddress") == std::string::npos;
        if (service || dest) {
            // ipvsadm indents destinations by two spaces; keep that mark.
            out += (dest ? "  " : "") + collapse(line) + "\n";
        }
    }
    return out;
}

inline std::string collapsed_lines(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    std::string out;
    while (std::getline(in, line)) {
        bool dest = line.rfind("  -> ", 0) == 0;
        out += (dest ? "  " : "") + collapse(line) + "\n";
    }
    return out;
}

inline ip_endpoint ep(const std::string& text) {
    return *parse_endpoint(text);
}

}  // namespace vigil::ipvs::guest
