// tests/live/test_certs.h — a throwaway CA and server certificate, made at test time.
//
// Purpose: TLS tests need a server certificate the client can verify (and a second CA it must
// not trust). They are generated with the `openssl` command into a fresh temp directory that
// is removed on destruction. The server certificate is for DNS:localhost only, so connecting
// to https://127.0.0.1 is a host-name mismatch.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace keel::live::test {

class TestCerts {
 public:
  TestCerts() {
    char tmpl[] = "/tmp/keel-certs-XXXXXX";
    if (!::mkdtemp(tmpl)) return;
    dir_ = tmpl;
    const std::string d = dir_.string();
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string cmd =
        "cd " + d + " && "
        "openssl req -x509" + ec + " -keyout ca.key -out ca.pem -days 2 -subj /CN=keel-test-ca"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign && "
        "openssl req -x509" + ec + " -keyout other.key -out other_ca.pem -days 2 -subj /CN=keel-other-ca"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign && "
        "openssl req" + ec + " -keyout server.key -out server.csr -subj /CN=localhost && "
        "printf 'subjectAltName=DNS:localhost\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > ext.cnf && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2"
        " -extfile ext.cnf";
    ok_ = std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
  }
  ~TestCerts() {
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  TestCerts(const TestCerts&) = delete;
  TestCerts& operator=(const TestCerts&) = delete;

  bool ok() const { return ok_; }
  std::string ca() const { return (dir_ / "ca.pem").string(); }
  std::string other_ca() const { return (dir_ / "other_ca.pem").string(); }
  std::string server_cert() const { return (dir_ / "server.pem").string(); }
  std::string server_key() const { return (dir_ / "server.key").string(); }

 private:
  std::filesystem::path dir_;
  bool ok_ = false;
};

}  // namespace keel::live::test
