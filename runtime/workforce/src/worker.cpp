#include "keel/workforce/worker.h"

namespace keel::workforce {

std::string WorkItem::prompt() const {
  std::string p = input;
  for (const auto& [id, output] : upstream) {
    p += "\n\n[";
    p += id;
    p += "]\n";
    p += output;
  }
  return p;
}

}  // namespace keel::workforce
