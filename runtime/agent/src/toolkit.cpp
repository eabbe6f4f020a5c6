#include "keel/agent/toolkit.h"

#include <stdexcept>

namespace keel::agent {

Tool& Toolkit::add(std::unique_ptr<Tool> tool) {
  if (!tool) throw std::invalid_argument("Toolkit::add: null tool");
  Tool& ref = *tool;
  return insert(ref, std::move(tool));
}

Tool& Toolkit::add(Tool& tool) { return insert(tool, nullptr); }

Tool& Toolkit::insert(Tool& tool, std::unique_ptr<Tool> owned) {
  const std::string& name = tool.spec().name;
  if (name.empty()) throw std::invalid_argument("Toolkit::add: a tool needs a non-empty name");
  if (by_name_.contains(name))
    throw std::invalid_argument("Toolkit::add: duplicate tool name '" + name + "'");
  by_name_.emplace(name, &tool);
  tools_.push_back(&tool);
  specs_.push_back(tool.spec());
  if (owned) owned_.push_back(std::move(owned));
  return tool;
}

Tool* Toolkit::find(std::string_view name) const noexcept {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}


std::vector<std::string> Toolkit::names() const {
  std::vector<std::string> out;
  out.reserve(tools_.size());
  for (const Tool* t : tools_) out.push_back(t->spec().name);
  return out;
}

}  // namespace keel::agent
