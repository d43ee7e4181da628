// probspace-nbce: NBCE pooling of per-step logits dumped from an LLM as .npy (spec nbce.md §8).
//   probspace-nbce [flags] logits.npy [more.npy ...]
// Each file holds [steps, n+1, V] or [n+1, V] logits (row 0 unconditional), float32, float64 or
// bfloat16 stored as uint16; files are decoded in order as one generation (hysteresis carries over).
// Exit codes: 0 success, 2 bad flags or a malformed / truncated / mismatched file.
#include <probspace/core/error.hpp>
#include <probspace/io/npy.hpp>
#include <probspace/nbce/decoder.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace probspace;
using probspace::detail::require;

constexpr const char* kUsage = R"(usage: probspace-nbce [flags] logits.npy [more.npy ...]
  --beta B               beta in [-1, inf) (default 0.25)
  --pooling P            min-entropy (default) | average | max | soft
  --soft-temperature T   T_H for --pooling soft (default 1)
  --top-p P              truncate every row to its top-p nucleus, 0 < P <= 1 (default 0.95)
  --top-k K              truncate every row to its top-k tokens (ties kept) instead
  --no-truncation        no truncation
  --eta E                switching penalty in nats (default 0.1)
  --select-row0          row 0 may be selected (multiple-choice mode)
  --finite-threshold X   l_0 > X counts as finite in the merge (default -100)
  --empty-support M      fallback (default) | report
  --double               compute in double (default: float, or double for float64 input)
  --out DIR              output folder (default .): log_probs.npy [steps, V], selected.npy [steps],
                         entropies.npy [steps, n+1]; with --scores also scores.npy [steps, V]
  --scores               also write the unnormalised merged scores
)";

struct Args {
  nbce::Options options;
  std::vector<std::string> inputs;
  std::string out = ".";
  bool scores = false;
  bool use_double = false;
};

double parse_number(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  require(used == text.size() && used > 0, "probspace-nbce", flag, "needs a number, got '", text, "'");
  return v;
}

Args parse_args(int argc, char** argv) {
  Args a;
  const std::map<std::string, nbce::Pooling> poolings{{"min-entropy", nbce::Pooling::MinEntropy},
                                                      {"average", nbce::Pooling::Average},
                                                      {"max", nbce::Pooling::Max},
                                                      {"soft", nbce::Pooling::SoftEntropy}};
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const auto value = [&]() -> std::string {
      require(i + 1 < argc, "probspace-nbce", flag, "needs a value");
      return argv[++i];
    };
    if (flag == "--beta") a.options.beta = parse_number(flag, value());
    else if (flag == "--pooling") {
      const std::string p = value();
      require(poolings.contains(p), "probspace-nbce", flag, "must be min-entropy, average, max or soft, got '", p, "'");
      a.options.pooling = poolings.at(p);
    } else if (flag == "--soft-temperature") a.options.soft_temperature = parse_number(flag, value());
    else if (flag == "--top-p") a.options.truncation = nbce::Truncation::TopP(parse_number(flag, value()));
    else if (flag == "--top-k") {
      const double k = parse_number(flag, value());
      require(k >= 1 && k == double(Index(k)), "probspace-nbce", flag, "must be an integer >= 1, got ", k);
      a.options.truncation = nbce::Truncation::TopK(Index(k));
    } else if (flag == "--no-truncation") a.options.truncation = nbce::Truncation::None();
    else if (flag == "--eta") a.options.eta = parse_number(flag, value());
    else if (flag == "--select-row0") a.options.select_row0 = true;
    else if (flag == "--finite-threshold") a.options.finite_threshold = parse_number(flag, value());
    else if (flag == "--empty-support") {
      const std::string m = value();
      require(m == "fallback" || m == "report", "probspace-nbce", flag, "must be fallback or report, got '", m, "'");
      a.options.empty_support = m == "report" ? nbce::EmptySupport::Report : nbce::EmptySupport::Fallback;
    } else if (flag == "--double") a.use_double = true;
    else if (flag == "--out") a.out = value();
    else if (flag == "--scores") a.scores = true;
    else {
      require(!flag.starts_with("--"), "probspace-nbce", flag, "is not a known flag");
      a.inputs.push_back(flag);
    }
  }
  require(!a.inputs.empty(), "probspace-nbce", "inputs", "must name at least one .npy file");
  return a;
}

/// One input file: its reader and its steps of [n+1, V] logits.
struct Input {
  io::NpyReader reader;
  Index steps;
};

template <Real T> int run(const Args& args, std::vector<Input>& inputs, Index rows, Index vocab) {
  nbce::Decoder<T> decoder(args.options);
  Index total_steps = 0;
  for (const auto& in : inputs) total_steps += in.steps;
  namespace fs = std::filesystem;
  fs::create_directories(args.out);
  const io::DType out_dtype = std::is_same_v<T, double> ? io::DType::Float64 : io::DType::Float32;
  io::NpyWriter log_probs((fs::path(args.out) / "log_probs.npy").string(), out_dtype, {total_steps, vocab});
  io::NpyWriter selected((fs::path(args.out) / "selected.npy").string(), io::DType::Int64, {total_steps});
  io::NpyWriter entropies((fs::path(args.out) / "entropies.npy").string(), io::DType::Float64, {total_steps, rows});
  std::optional<io::NpyWriter> scores;
  if (args.scores) scores.emplace((fs::path(args.out) / "scores.npy").string(), out_dtype, std::vector{total_steps, vocab});

  RowMatrixX<T> logits(rows, vocab);
  std::vector<Index> histogram(std::size_t(rows), 0);
  double selected_entropy = 0, nucleus = 0, seconds = 0;
  Index fallbacks = 0, empty = 0;
  for (auto& in : inputs) {
    for (Index s = 0; s < in.steps; ++s) {
      in.reader.read(s * rows * vocab, rows * vocab, logits.data());
      const auto start = std::chrono::steady_clock::now();
      const auto& step = decoder.step(logits);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      log_probs.write(step.log_probs.data(), vocab);
      const std::int64_t k = step.selected;
      selected.write(&k, 1);
      entropies.write(step.entropies.data(), rows);
      if (scores) scores->write(step.scores.data(), vocab);
      if (k >= 0) {
        ++histogram[std::size_t(k)];
        selected_entropy += step.entropies[k];
      }
      nucleus += double(step.nucleus_sizes.sum()) / double(rows);
      fallbacks += step.fallback_used;
      empty += step.empty_support;
    }
  }
  log_probs.close();
  selected.close();
  entropies.close();
  if (scores) scores->close();

  const double n_steps = double(std::max<Index>(total_steps, 1));
  std::printf("probspace-nbce: %lld steps, n = %lld contexts, V = %lld, %s\n", (long long)total_steps,
              (long long)(rows - 1), (long long)vocab, std::is_same_v<T, double> ? "double" : "float");
  std::printf("  beta %.4g, eta %.4g, mean nucleus size %.1f tokens per row\n", args.options.beta, args.options.eta,
              nucleus / n_steps);
  if (args.options.pooling == nbce::Pooling::MinEntropy) {
    std::printf("  selected row: ");
    for (Index r = 0; r < rows; ++r)
      if (histogram[std::size_t(r)]) std::printf("%lld x%lld  ", (long long)r, (long long)histogram[std::size_t(r)]);
    std::printf("\n  mean entropy of the selected row %.4f nats\n", selected_entropy / n_steps);
  }
  std::printf("  empty pooled support at %lld steps (%lld resolved by the fallback)\n", (long long)empty,
              (long long)fallbacks);
  std::printf("  %.3f ms per step, %.2f GB/s of logits\n", 1e3 * seconds / n_steps,
              n_steps * double(rows * vocab) * double(sizeof(T)) / std::max(seconds, 1e-12) / 1e9);
  std::printf("  wrote %s\n", args.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 1 || (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h"))) {
    std::fputs(kUsage, argc == 1 ? stderr : stdout);
    return argc == 1 ? 2 : 0;
  }
  try {
    const Args args = parse_args(argc, argv);
    nbce::Decoder<double> validate(args.options);  // rejects bad option values before any file is read
    std::vector<Input> inputs;
    Index rows = 0, vocab = 0;
    bool any_double = false;
    for (const auto& path : args.inputs) {
      io::NpyReader reader(path);
      const auto& shape = reader.header().shape;
      require(shape.size() == 2 || shape.size() == 3, "probspace-nbce", path, "must have shape [steps, n+1, V] or [n+1, V], got rank ",
              shape.size());
      const Index r = shape[shape.size() - 2], v = shape.back();
      require(r >= 2 && v >= 1, "probspace-nbce", path, "needs n+1 >= 2 rows and V >= 1, got [", r, ", ", v, "]");
      if (rows == 0) {
        rows = r;
        vocab = v;
      }
      require(r == rows && v == vocab, "probspace-nbce", path, "has [n+1, V] = [", r, ", ", v, "], but ", args.inputs[0],
              " has [", rows, ", ", vocab, "]");
      require(reader.header().dtype != io::DType::Int64, "probspace-nbce", path,
              "must hold float32, float64 or bfloat16 (as uint16) logits, not int64");
      any_double = any_double || reader.header().dtype == io::DType::Float64;
      const Index steps = shape.size() == 3 ? shape[0] : 1;
      inputs.push_back({std::move(reader), steps});
    }
    return (args.use_double || any_double) ? run<double>(args, inputs, rows, vocab) : run<float>(args, inputs, rows, vocab);
  } catch (const probspace::InvalidArgument& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
