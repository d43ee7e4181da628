#pragma once
// The demo runner's plug-in interface: a demo reproduces one derivation numerically, prints a table
// (closed form vs numerics, with an error column), writes CSV and a PNG plot under its folder, and
// returns non-zero when the reproduction misses its tolerance.
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace probspace::demos {

struct DemoContext {
  std::filesystem::path out_dir;  ///< this demo's own folder (created by the runner)
  std::ostream& out;
};

struct Demo {
  std::string name;
  std::string description;
  std::function<int(const DemoContext&)> run;  ///< 0 when every check holds
};

/// All registered demos, in registration order.
std::vector<Demo>& registry();

/// Registers a demo at static-initialisation time: `static const Register r{{"name", "...", run}};`
struct Register {
  explicit Register(Demo demo);
};

/// A printed table that is also written as CSV.
class Table {
public:
  explicit Table(std::vector<std::string> columns);
  void add_row(std::vector<std::string> cells);
  void print(std::ostream& os) const;
  void write_csv(const std::filesystem::path& path) const;

private:
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> rows_;
};

/// Formats a number for tables and CSV (%.12g; errors use %.2e).
std::string num(double value);
std::string err(double value);

/// Writes `data` (rows of numbers, one header line) as CSV.
void write_csv(const std::filesystem::path& path, const std::vector<std::string>& header,
               const std::vector<std::vector<double>>& data);

/// Renders a PNG by running gnuplot on `script` (which should `set output` itself); reports and
/// returns false if gnuplot is missing or fails — plots are artefacts, not checks.
bool plot(const DemoContext& ctx, const std::string& script_name, const std::string& script);

}  // namespace probspace::demos
