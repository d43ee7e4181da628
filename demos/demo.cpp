// Demo registry, tables, CSV and gnuplot helpers.
#include "demo.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>

namespace probspace::demos {

std::vector<Demo>& registry() {
  static std::vector<Demo> demos;
  return demos;
}

Register::Register(Demo demo) { registry().push_back(std::move(demo)); }

Table::Table(std::vector<std::string> columns) : columns_(std::move(columns)) {}

void Table::add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }

void Table::print(std::ostream& os) const {
  std::vector<std::size_t> width(columns_.size());
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    width[c] = columns_[c].size();
    for (const auto& row : rows_) width[c] = std::max(width[c], row[c].size());
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t c = 0; c < cells.size(); ++c) os << (c ? "  " : "") << std::setw(int(width[c])) << cells[c];
    os << '\n';
  };
  line(columns_);
  std::size_t total = 0;
  for (const auto w : width) total += w + 2;
  os << std::string(total - 2, '-') << '\n';
  for (const auto& row : rows_) line(row);
}

void Table::write_csv(const std::filesystem::path& path) const {
  std::ofstream f(path);
  for (std::size_t c = 0; c < columns_.size(); ++c) f << (c ? "," : "") << columns_[c];
  f << '\n';
  for (const auto& row : rows_) {
    for (std::size_t c = 0; c < row.size(); ++c) f << (c ? "," : "") << row[c];
    f << '\n';
  }
}

std::string num(double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", value);
  return buf;
}

std::string err(double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2e", value);
  return buf;
}

void write_csv(const std::filesystem::path& path, const std::vector<std::string>& header,
               const std::vector<std::vector<double>>& data) {
  std::ofstream f(path);
  for (std::size_t c = 0; c < header.size(); ++c) f << (c ? "," : "") << header[c];
  f << '\n' << std::setprecision(17);
  for (const auto& row : data) {
    for (std::size_t c = 0; c < row.size(); ++c) f << (c ? "," : "") << row[c];
    f << '\n';
  }
}

bool plot(const DemoContext& ctx, const std::string& script_name, const std::string& script) {
  const auto path = ctx.out_dir / script_name;
  std::ofstream(path) << script;
  const std::string command = "cd '" + ctx.out_dir.string() + "' && gnuplot '" + script_name + "' 2>&1";
  if (std::system(command.c_str()) != 0) {
    ctx.out << "  (plot skipped: gnuplot failed or is not installed; script kept at " << path.string() << ")\n";
    return false;
  }
  return true;
}

}  // namespace probspace::demos
