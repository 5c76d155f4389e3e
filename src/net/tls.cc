#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace samsa::net {

namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
struct X509Free { void operator()(X509* x) const { X509_free(x); } };
struct KeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
struct P12Free { void operator()(PKCS12* p) const { PKCS12_free(p); } };
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

BioPtr mem_bio(const std::string& s) { return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size()))); }

int pem_password_cb(char* buf, int size, int, void* user) {
  auto* pw = static_cast<const std::string*>(user);
  int n = static_cast<int>(std::min<size_t>(pw->size(), static_cast<size_t>(size)));
  std::copy_n(pw->data(), n, buf);
  return n;
}

// Every certificate of a PEM text, in order.
std::vector<X509Ptr> pem_certificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  auto bio = mem_bio(pem);
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  ERR_clear_error();  // the end of the text reads as an error
  return out;
}

// Certificate chain and key into the context: the first certificate is the
// broker's, the others its chain.
std::string use_pem_keystore(SSL_CTX* ctx, const std::string& pem_chain, const std::string& pem_key,
                             const std::string& key_password) {
  auto certs = pem_certificates(pem_chain);
  if (certs.empty()) return "no certificate in the key store";
  if (SSL_CTX_use_certificate(ctx, certs[0].get()) != 1) return openssl_error();
  for (size_t i = 1; i < certs.size(); ++i)
    if (SSL_CTX_add1_chain_cert(ctx, certs[i].get()) != 1) return openssl_error();
  auto bio = mem_bio(pem_key);
  std::string pw = key_password;
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, pem_password_cb, &pw));
  if (!key) return "cannot read the private key (" + openssl_error() + ")";
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    return "the private key does not match the certificate (" + openssl_error() + ")";
  return {};
}

std::string use_pkcs12(const std::string& path, const std::string& password, SSL_CTX* ctx, bool as_keystore) {
  std::string data;
  if (!read_file(path, data)) return "cannot read " + path;
  auto bio = mem_bio(data);
  std::unique_ptr<PKCS12, P12Free> p12(d2i_PKCS12_bio(bio.get(), nullptr));
  if (!p12) return path + " is not a PKCS12 file (" + openssl_error() + ")";
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* cas = nullptr;
  if (PKCS12_parse(p12.get(), password.c_str(), &key, &cert, &cas) != 1)
    return "cannot open " + path + " (wrong password?): " + openssl_error();
  KeyPtr key_owner(key);
  X509Ptr cert_owner(cert);
  std::string err;
  if (as_keystore) {
    if (!cert || !key) err = path + " holds no certificate and key";
    else if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
             SSL_CTX_check_private_key(ctx) != 1)
      err = openssl_error();
    for (int i = 0; err.empty() && cas && i < sk_X509_num(cas); ++i)
      if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(cas, i)) != 1) err = openssl_error();
  } else {
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    if (cert) X509_STORE_add_cert(store, cert);
    for (int i = 0; cas && i < sk_X509_num(cas); ++i) X509_STORE_add_cert(store, sk_X509_value(cas, i));
    if (!cert && (!cas || sk_X509_num(cas) == 0)) err = path + " holds no certificate";
  }
  sk_X509_pop_free(cas, X509_free);
  return err;
}

std::string load_keystore(const TlsSettings& s, SSL_CTX* ctx) {
  const std::string type = upper(s.keystore_type);
  if (!s.keystore_certificate_chain.empty() || !s.keystore_key.empty()) {
    if (s.keystore_certificate_chain.empty() || s.keystore_key.empty())
      return "ssl.keystore.certificate.chain and ssl.keystore.key must be set together";
    return use_pem_keystore(ctx, s.keystore_certificate_chain, s.keystore_key, s.key_password);
  }
  if (s.keystore_location.empty()) return "ssl.keystore.location is not set: a TLS listener needs a certificate";
  if (type == "PKCS12") return use_pkcs12(s.keystore_location, s.keystore_password, ctx, true);
  if (type != "PEM") return "ssl.keystore.type " + s.keystore_type + " is not supported (use PEM or PKCS12)";
  std::string pem;
  if (!read_file(s.keystore_location, pem)) return "cannot read " + s.keystore_location;
  return use_pem_keystore(ctx, pem, pem, s.key_password);
}

std::string load_truststore(const TlsSettings& s, SSL_CTX* ctx) {
  if (!s.truststore_certificates.empty()) {
    auto certs = pem_certificates(s.truststore_certificates);
    if (certs.empty()) return "ssl.truststore.certificates holds no certificate";
    for (auto& c : certs) X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), c.get());
    return {};
  }
  if (s.truststore_location.empty()) return {};
  const std::string type = upper(s.truststore_type);
  if (type == "PKCS12") return use_pkcs12(s.truststore_location, s.truststore_password, ctx, false);
  if (type != "PEM") return "ssl.truststore.type " + s.truststore_type + " is not supported (use PEM or PKCS12)";
  if (SSL_CTX_load_verify_locations(ctx, s.truststore_location.c_str(), nullptr) != 1)
    return "cannot load trust store " + s.truststore_location + " (" + openssl_error() + ")";
  return {};
}

int protocol_version(const std::string& name) {
  if (name == "TLSv1.3") return TLS1_3_VERSION;
  if (name == "TLSv1.2") return TLS1_2_VERSION;
  if (name == "TLSv1.1") return TLS1_1_VERSION;
  if (name == "TLSv1") return TLS1_VERSION;
  return 0;
}

std::string set_protocols(const TlsSettings& s, SSL_CTX* ctx) {
  int lo = 0, hi = 0;
  for (auto& p : s.enabled_protocols) {
    int v = protocol_version(p);
    if (v == 0) return "ssl.enabled.protocols: unsupported protocol " + p;
    lo = lo == 0 ? v : std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (lo == 0) return "ssl.enabled.protocols is empty";
  SSL_CTX_set_min_proto_version(ctx, lo);
  SSL_CTX_set_max_proto_version(ctx, hi);
  return {};
}

// Kafka names suites as IANA does (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256);
// OpenSSL's TLS 1.2 list wants its own names, so each is looked up by its
// standard name. TLS 1.3 suites have the same name in both.
std::string set_ciphers(const TlsSettings& s, SSL_CTX* ctx) {
  if (s.cipher_suites.empty()) return {};
  std::unique_ptr<SSL, decltype(&SSL_free)> probe(SSL_new(ctx), SSL_free);
  SSL_set_cipher_list(probe.get(), "ALL:COMPLEMENTOFALL");
  STACK_OF(SSL_CIPHER)* all = SSL_get_ciphers(probe.get());
  std::string tls12, tls13;
  for (auto& name : s.cipher_suites) {
    if (name.rfind("TLS_AES_", 0) == 0 || name.rfind("TLS_CHACHA20_", 0) == 0) {
      tls13 += (tls13.empty() ? "" : ":") + name;
      continue;
    }
    std::string found;
    for (int i = 0; all && i < sk_SSL_CIPHER_num(all); ++i) {
      const SSL_CIPHER* c = sk_SSL_CIPHER_value(all, i);
      if (name == SSL_CIPHER_standard_name(c) || name == SSL_CIPHER_get_name(c)) found = SSL_CIPHER_get_name(c);
    }
    if (found.empty()) return "ssl.cipher.suites: unknown cipher suite " + name;
    tls12 += (tls12.empty() ? "" : ":") + found;
  }
  if (!tls12.empty() && SSL_CTX_set_cipher_list(ctx, tls12.c_str()) != 1) return openssl_error();
  if (!tls13.empty() && SSL_CTX_set_ciphersuites(ctx, tls13.c_str()) != 1) return openssl_error();
  return {};
}

}  // namespace

std::variant<TlsContextPtr, std::string> make_server_tls(const TlsSettings& s) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  for (auto* step : {&set_protocols, &set_ciphers, &load_keystore, &load_truststore})
    if (auto err = (*step)(s, native); !err.empty()) return err;
  if (s.client_auth == "required") {
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else if (s.client_auth == "requested") {
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  } else if (s.client_auth == "none") {
    SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
  } else {
    return "ssl.client.auth must be one of none, requested, required: " + s.client_auth;
  }
  // Session resumption must not mix contexts of different listeners.
  static const unsigned char kSessionId[] = "samsa";
  SSL_CTX_set_session_id_context(native, kSessionId, sizeof kSessionId - 1);
  return ctx;
}

std::variant<TlsContextPtr, std::string> make_client_tls(const TlsSettings& s) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  for (auto* step : {&set_protocols, &set_ciphers})
    if (auto err = (*step)(s, native); !err.empty()) return err;
  // The listener's own certificate is the client certificate (mTLS), as Kafka's brokers do.
  if (!s.keystore_location.empty() || !s.keystore_certificate_chain.empty() || !s.keystore_key.empty())
    if (auto err = load_keystore(s, native); !err.empty()) return err;
  if (s.truststore_location.empty() && s.truststore_certificates.empty()) {
    if (SSL_CTX_set_default_verify_paths(native) != 1) return "cannot load the system's trusted certificates";
  } else if (auto err = load_truststore(s, native); !err.empty()) {
    return err;
  }
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  return ctx;
}

std::optional<std::string> tls_peer_subject(SSL* ssl) {
  X509Ptr cert(SSL_get1_peer_certificate(ssl));
  if (!cert) return std::nullopt;
  return certificate_principal(cert.get()).substr(5);
}

std::string certificate_principal(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  // RFC 2253 as Java's X500Principal prints it: reversed order, ',' without
  // spaces, UTF-8 left as is (not \XX escaped).
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return "User:" + std::string(data, static_cast<size_t>(n));
}

}  // namespace samsa::net
