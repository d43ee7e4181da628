#pragma once
// A reproduction table shared by the rope demos: one row per quantity (spec value, computed value,
// error, tolerance, ok), printed, written as CSV, and counted towards the demo's exit status.
#include "demo.hpp"

#include <algorithm>
#include <cmath>
#include <ostream>

namespace probspace::demos {

class RopeChecks {
public:
  /// Records |got − expected| against tolerance (absolute).
  void add(const std::string& quantity, double expected, double got, double tolerance) {
    const double error = std::abs(got - expected);
    const bool ok = error <= tolerance;  // NaN fails
    failures_ += ok ? 0 : 1;
    table_.add_row({quantity, num(expected), num(got), err(error), err(tolerance), ok ? "yes" : "NO"});
  }
  /// Prints and writes the table; returns the demo's exit status (0 when every row holds).
  int finish(const DemoContext& ctx, const std::string& csv_name) const {
    table_.print(ctx.out);
    table_.write_csv(ctx.out_dir / csv_name);
    ctx.out << (failures_ == 0 ? "all checks within tolerance\n" : std::to_string(failures_) + " checks missed tolerance\n");
    return failures_ == 0 ? 0 : 1;
  }

private:
  Table table_{{"quantity", "spec / closed form", "computed", "error", "tolerance", "ok"}};
  int failures_ = 0;
};

/// Plots columns 2..last_column of `stem`.csv (header line = titles) against column 1 into `stem`.png;
/// `settings` holds extra gnuplot lines (log scales, key position).
inline bool plot_columns(const DemoContext& ctx, const std::string& stem, const std::string& title,
                         const std::string& xlabel, const std::string& ylabel, const std::string& settings,
                         int last_column) {
  return plot(ctx, stem + ".gp",
              "set terminal pngcairo size 1000,650\nset output '" + stem + ".png'\nset datafile separator ','\n"
              "set termoption noenhanced\nset title '" + title + "'\nset xlabel '" + xlabel + "'\nset ylabel '" +
                  ylabel + "'\nset grid\n" + settings + "plot for [c=2:" + std::to_string(last_column) + "] '" +
                  stem + ".csv' using 1:c with lines lw 2 title columnheader(c)\n");
}

}  // namespace probspace::demos
