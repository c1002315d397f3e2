#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "checkers/http_expectation.hpp"

namespace vigil::checkers {

// A streaming MD5 or SHA-256 (OpenSSL EVP), fed chunk by chunk as the body arrives so the body
// itself never needs to be kept.
class body_digester {
  public:
    explicit body_digester(body_digest::algorithm algo);
    ~body_digester();
    body_digester(body_digester&&) noexcept;
    body_digester& operator=(body_digester&&) noexcept;

    void reset();
    void update(std::string_view chunk);
    std::vector<std::uint8_t> finish();  // then reset() before reuse

  private:
    struct context;
    body_digest::algorithm algo_;
    std::unique_ptr<context> ctx_;
};

// The digest of `data` in one go.
body_digest digest_of(body_digest::algorithm algo, std::string_view data);

}  // namespace vigil::checkers
