#include "checkers/body_digester.hpp"

#include <openssl/evp.h>

#include <new>
#include <utility>

namespace vigil::checkers {

struct body_digester::context {
    EVP_MD_CTX* md = nullptr;
    ~context() { EVP_MD_CTX_free(md); }
};

namespace {

const EVP_MD* md_of(body_digest::algorithm algo) {
    return algo == body_digest::algorithm::md5 ? EVP_md5() : EVP_sha256();
}

}  // namespace

body_digester::body_digester(body_digest::algorithm algo)
    : algo_(algo), ctx_(std::make_unique<context>()) {
    ctx_->md = EVP_MD_CTX_new();
    if (ctx_->md == nullptr) {
        throw std::bad_alloc();
    }
    reset();
}

body_digester::~body_digester() = default;
body_digester::body_digester(body_digester&&) noexcept = default;
body_digester& body_digester::operator=(body_digester&&) noexcept = default;

void body_digester::reset() {
    EVP_DigestInit_ex(ctx_->md, md_of(algo_), nullptr);
}

void body_digester::update(std::string_view chunk) {
    EVP_DigestUpdate(ctx_->md, chunk.data(), chunk.size());
}

std::vector<std::uint8_t> body_digester::finish() {
    std::vector<std::uint8_t> out(static_cast<std::size_t>(EVP_MAX_MD_SIZE));
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx_->md, out.data(), &size);
    out.resize(size);
    return out;
}

body_digest digest_of(body_digest::algorithm algo, std::string_view data) {
    body_digester d(algo);
    d.update(data);
    return body_digest{algo, d.finish()};
}

}  // namespace vigil::checkers
