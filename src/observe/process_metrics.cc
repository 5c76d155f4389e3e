#include "observe/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace samsa::observe {

namespace {

const Family kRss{"process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::kGauge, {}};
const Family kVirtual{"process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::kGauge, {}};
const Family kOpenFds{"process_open_fds", "Number of open file descriptors.", MetricType::kGauge, {}};
const Family kCpu{"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                  MetricType::kCounter, {}};
const Family kStart{"process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.",
                    MetricType::kGauge, {}};

int count_fds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return 0;
  int n = 0;
  while (auto* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n - 1;  // the descriptor of the listing itself
}

}  // namespace

void add_process_metrics(Snapshot& out) {
  long page = ::sysconf(_SC_PAGESIZE);
  long ticks = ::sysconf(_SC_CLK_TCK);
  {
    std::ifstream statm("/proc/self/statm");
    long size = 0, resident = 0;
    if (statm >> size >> resident) {
      out.add(kVirtual, {}, static_cast<double>(size) * page);
      out.add(kRss, {}, static_cast<double>(resident) * page);
    }
  }
  out.add(kOpenFds, {}, count_fds());
  std::ifstream stat_file("/proc/self/stat");
  std::string line;
  if (!std::getline(stat_file, line)) return;
  // Fields after the command name (which may hold spaces, so skip past its ')').
  auto close = line.rfind(')');
  if (close == std::string::npos) return;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  std::vector<std::string> f;
  while (rest >> field) f.push_back(field);
  // f[0] is field 3 (state): utime is field 14, stime 15, starttime 22.
  if (f.size() < 20 || ticks <= 0) return;
  double utime = std::stod(f[11]), stime = std::stod(f[12]), start_ticks = std::stod(f[19]);
  out.add(kCpu, {}, (utime + stime) / ticks);
  std::ifstream stat_sys("/proc/stat");
  std::string key;
  double btime = 0;
  while (stat_sys >> key) {
    if (key == "btime") {
      stat_sys >> btime;
      break;
    }
    std::getline(stat_sys, line);
  }
  if (btime > 0) out.add(kStart, {}, btime + start_ticks / ticks);
}

}  // namespace samsa::observe
