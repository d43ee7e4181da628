// .npy reading/writing (round trips; truncated, corrupt and unsupported files) and the
// probspace-nbce tool end to end (outputs equal the Decoder's; exit code 2 on bad files and flags).
#include "nbce_testing.hpp"

#include <probspace/io/npy.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace probspace::nbce::testing {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() : path(fs::temp_directory_path() / ("probspace_npy_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                                                 ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

template <class T> void write_array(const std::string& path, io::DType dtype, std::vector<Index> shape, const std::vector<T>& v) {
  io::NpyWriter w(path, dtype, std::move(shape));
  w.write(v.data(), Index(v.size()));
  w.close();
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(Npy, RoundTripsFloat32Float64AndBfloat16) {
  TempDir dir;
  const std::vector<float> f{1.5f, -2.25f, 3.0f, -std::numeric_limits<float>::infinity(), 0.0f, 7.0f};
  write_array(dir / "f.npy", io::DType::Float32, {2, 3}, f);
  io::NpyReader rf(dir / "f.npy");
  EXPECT_EQ(rf.header().shape, (std::vector<Index>{2, 3}));
  std::vector<double> back(6);
  rf.read(0, 6, back.data());
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(back[i], double(f[i]));
  std::vector<float> part(2);
  rf.read(3, 2, part.data());
  EXPECT_EQ(part[1], 0.0f);

  const std::vector<double> d{0.1, -1e300, 2.0};
  write_array(dir / "d.npy", io::DType::Float64, {3}, d);
  io::NpyReader rd(dir / "d.npy");
  EXPECT_EQ(rd.header().shape, (std::vector<Index>{3}));
  std::vector<double> dback(3);
  rd.read(0, 3, dback.data());
  EXPECT_EQ(dback, d);

  // bfloat16 as uint16: the upper halves of float32 values; 1.5 = 0x3FC0, −2 = 0xC000.
  EXPECT_EQ(io::bfloat16_to_float(0x3FC0), 1.5f);
  EXPECT_EQ(io::bfloat16_to_float(0xC000), -2.0f);
}

/// A v1.0 .npy file with a hand-written header dict.
std::string npy_bytes(const std::string& dict, const std::string& data) {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::string out = "\x93NUMPY";
  out += char(1);
  out += char(0);
  out += char(h.size() & 0xff);
  out += char(h.size() >> 8);
  return out + h + data;
}

TEST(Npy, ReadsBfloat16StoredAsUint16) {
  TempDir dir;
  const std::uint16_t bits[3] = {0x3FC0, 0xC000, 0xFF80};  // 1.5, −2, −inf
  write_bytes(dir / "b.npy", npy_bytes("{'descr': '<u2', 'fortran_order': False, 'shape': (3,), }",
                                       std::string(reinterpret_cast<const char*>(bits), 6)));
  io::NpyReader r(dir / "b.npy");
  EXPECT_EQ(r.header().dtype, io::DType::BFloat16);
  float v[3];
  r.read(0, 3, v);
  EXPECT_EQ(v[0], 1.5f);
  EXPECT_EQ(v[1], -2.0f);
  EXPECT_EQ(v[2], -std::numeric_limits<float>::infinity());
}

TEST(Npy, RejectsTruncatedCorruptAndUnsupportedFilesNamingTheFile) {
  TempDir dir;
  const std::string good = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", std::string(16, '\0'));
  const auto expect_rejected = [&](const std::string& name, const std::string& bytes, const std::string& what) {
    const std::string path = dir / name;
    write_bytes(path, bytes);
    try {
      io::NpyReader r(path);
      ADD_FAILURE() << name << ": expected InvalidArgument";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  write_bytes(dir / "good.npy", good);
  EXPECT_NO_THROW(io::NpyReader(dir / "good.npy"));
  expect_rejected("empty.npy", "", "bad magic");
  expect_rejected("magic.npy", "PK\x03\x04" + good.substr(4), "bad magic");
  expect_rejected("version.npy", good.substr(0, 6) + char(9) + good.substr(7), "version");
  expect_rejected("header_cut.npy", good.substr(0, 30), "truncated inside its header");
  expect_rejected("data_cut.npy", good.substr(0, good.size() - 3), "is truncated");
  expect_rejected("descr.npy", npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", std::string(8, '\0')),
                  "unsupported dtype");
  expect_rejected("fortran.npy", npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", std::string(8, '\0')),
                  "C order");
  expect_rejected("noshape.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, }", ""), "'shape'");
  expect_rejected("badshape.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", ""),
                  "non-integer");
  expect_rejected("openshape.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3 }", ""),
                  "unterminated");
  expect_rejected("huge.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", ""),
                  "too many");
  expect_rejected("notdict.npy", npy_bytes("descr <f4", ""), "not a dict");
  EXPECT_INVALID_ARGUMENT(io::NpyReader(dir / "missing.npy"), dir / "missing.npy");
}

// ---- the tool ----

int run_tool(const std::string& args) {
  const std::string cmd = std::string(PROBSPACE_NBCE_TOOL) + " " + args + " >/dev/null 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(NbceTool, OutputsEqualTheDecoderStepByStep) {
  TempDir dir;
  std::mt19937_64 rng(4);
  const Index steps = 3, rows = 4, vocab = 500;
  std::vector<float> logits(std::size_t(steps * rows * vocab));
  std::normal_distribution<float> n01(0, 2);
  for (auto& x : logits) x = n01(rng);
  write_array(dir / "logits.npy", io::DType::Float32, {steps, rows, vocab}, logits);
  ASSERT_EQ(run_tool("--beta 0.5 --top-p 0.9 --eta 0.2 --scores --out " + dir.path.string() + " " + (dir / "logits.npy")), 0);

  Options o;
  o.beta = 0.5;
  o.truncation = Truncation::TopP(0.9);
  o.eta = 0.2;
  Decoder<float> decoder(o);
  io::NpyReader lp(dir / "log_probs.npy"), sel(dir / "selected.npy"), ent(dir / "entropies.npy"), sc(dir / "scores.npy");
  EXPECT_EQ(lp.header().shape, (std::vector<Index>{steps, vocab}));
  EXPECT_EQ(sel.header().shape, (std::vector<Index>{steps}));
  EXPECT_EQ(ent.header().shape, (std::vector<Index>{steps, rows}));
  for (Index s = 0; s < steps; ++s) {
    const Eigen::Map<const RowMatrixX<float>> z(logits.data() + s * rows * vocab, rows, vocab);
    const auto& step = decoder.step(z);
    VectorX<float> got(vocab), got_scores(vocab);
    lp.read(s * vocab, vocab, got.data());
    sc.read(s * vocab, vocab, got_scores.data());
    EXPECT_EQ(got, step.log_probs);
    EXPECT_EQ(got_scores, step.scores);
    double k;
    sel.read(s, 1, &k);
    EXPECT_EQ(Index(k), step.selected);
    VectorX<double> h(rows);
    ent.read(s * rows, rows, h.data());
    // Float reductions may group differently with the buffer's alignment: equal to rounding.
    EXPECT_VEC_NEAR(h, step.entropies, 1e-5);
  }
}

TEST(NbceTool, SeveralFilesAreOneGenerationAndMismatchesExitWithTwo) {
  TempDir dir;
  const std::vector<double> a(3 * 10, 0.5), b(3 * 10, -0.25), c(4 * 10, 0.0);
  write_array(dir / "a.npy", io::DType::Float64, {3, 10}, a);
  write_array(dir / "b.npy", io::DType::Float64, {3, 10}, b);
  write_array(dir / "c.npy", io::DType::Float64, {4, 10}, c);
  EXPECT_EQ(run_tool("--out " + dir.path.string() + " " + (dir / "a.npy") + " " + (dir / "b.npy")), 0);
  EXPECT_EQ(io::NpyReader(dir / "log_probs.npy").header().shape, (std::vector<Index>{2, 10}));
  EXPECT_EQ(io::NpyReader(dir / "log_probs.npy").header().dtype, io::DType::Float64);
  EXPECT_EQ(run_tool("--out " + dir.path.string() + " " + (dir / "a.npy") + " " + (dir / "c.npy")), 2);

  // Corrupt and truncated inputs, NaN logits, bad flags: exit code 2, never a crash.
  write_bytes(dir / "corrupt.npy", "\x93NUMPY garbage");
  write_bytes(dir / "cut.npy", read_bytes(dir / "a.npy").substr(0, 100));
  std::vector<double> nan = a;
  nan[7] = std::nan("");
  write_array(dir / "nan.npy", io::DType::Float64, {3, 10}, nan);
  std::vector<double> masked = a;
  std::fill(masked.begin() + 10, masked.begin() + 20, -std::numeric_limits<double>::infinity());
  write_array(dir / "masked.npy", io::DType::Float64, {3, 10}, masked);
  write_array(dir / "rank1.npy", io::DType::Float64, {30}, a);
  write_array(dir / "one_row.npy", io::DType::Float64, {1, 30}, a);
  const std::string out = "--out " + dir.path.string() + " ";
  for (const std::string bad : {"corrupt.npy", "cut.npy", "nan.npy", "masked.npy", "rank1.npy", "one_row.npy", "missing.npy"})
    EXPECT_EQ(run_tool(out + (dir / bad)), 2) << bad;
  for (const std::string flags : {"--beta -2", "--top-p 0", "--top-p 1.5", "--top-k 0", "--pooling median", "--eta x",
                                  "--soft-temperature 0", "--bogus", "--beta"})
    EXPECT_EQ(run_tool(out + flags + " " + (dir / "a.npy")), 2) << flags;
  EXPECT_EQ(run_tool(""), 2);
  EXPECT_EQ(run_tool("--help"), 0);
}

}  // namespace
}  // namespace probspace::nbce::testing
