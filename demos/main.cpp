// probspace-demo: lists and runs the derivation demos.
//   probspace-demo list
//   probspace-demo run NAME|all [--out DIR]     (default DIR: out/demos)
#include "demo.hpp"

#include <probspace/core/error.hpp>

#include <exception>
#include <iostream>
#include <string>

namespace {

int usage() {
  std::cerr << "usage: probspace-demo list\n       probspace-demo run NAME|all [--out DIR]\n";
  return 2;
}

int run_one(const probspace::demos::Demo& demo, const std::filesystem::path& root) {
  const auto dir = root / demo.name;
  std::filesystem::create_directories(dir);
  std::cout << "\n=== " << demo.name << ": " << demo.description << "\n    output: " << dir.string() << "\n\n";
  int status = 1;
  try {
    status = demo.run({dir, std::cout});
  } catch (const std::exception& e) {
    std::cout << "  error: " << e.what() << '\n';
  }
  std::cout << "=== " << demo.name << ": " << (status == 0 ? "PASS" : "FAIL") << '\n';
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  using probspace::demos::registry;
  if (argc < 2) return usage();
  const std::string command = argv[1];
  if (command == "list") {
    for (const auto& d : registry()) std::cout << d.name << "  —  " << d.description << '\n';
    return 0;
  }
  if (command != "run" || argc < 3) return usage();
  const std::string target = argv[2];
  std::filesystem::path out = "out/demos";
  for (int i = 3; i < argc; ++i) {
    if (std::string(argv[i]) == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else {
      return usage();
    }
  }
  int failures = 0, ran = 0;
  for (const auto& d : registry()) {
    if (target != "all" && d.name != target) continue;
    ++ran;
    failures += run_one(d, out) != 0;
  }
  if (ran == 0) {
    std::cerr << "probspace-demo: no demo named '" << target << "' (see `probspace-demo list`)\n";
    return 2;
  }
  std::cout << "\n" << ran - failures << " of " << ran << " demos reproduced their derivation\n";
  return failures == 0 ? 0 : 1;
}
