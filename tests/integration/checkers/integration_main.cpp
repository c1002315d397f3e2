// The checkers integration tests' main: doctest's, except that a run which failed nothing but
// skipped some case (test_support.hpp's skip()) exits 77, ctest's SKIP_RETURN_CODE.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>

#include "test_support.hpp"

int main(int argc, char** argv) {
    doctest::Context context(argc, argv);
    int status = context.run();
    if (context.shouldExit() || status != 0) {
        return status;
    }
    const auto& skipped = vigil::test::skipped_cases();
    if (skipped.empty()) {
        return 0;
    }
    for (const auto& why : skipped) {
        std::cout << "skipped: " << why << "\n";
    }
    return 77;
}
