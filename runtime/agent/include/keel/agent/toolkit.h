// keel/agent/toolkit.h — Toolkit: the set of tools an agent offers its model, by unique name.
//
// Purpose: one place that answers "which tool is called X?" for the ToolRunner and "which
// tools exist?" for ChatRequest::tools. It owns tools handed over as unique_ptr and borrows
// tools passed by reference (a MockTool owned by a test, a tool shared by several agents).
//
// Contract:
//  - Names are unique and non-empty: adding a duplicate, an empty name or a null tool throws
//    std::invalid_argument (configuration time; nothing is added).
//  - `specs()` and `names()` list tools in registration order (deterministic requests). A
//    tool's spec is read once, when it is added: it must not change afterwards.
//  - `find` returns nullptr for an unknown name. Tool addresses are stable for the toolkit's
//    lifetime; a borrowed tool must outlive the toolkit and every call in flight on it.
//  - Not thread-safe; configure it before running calls. Move-only.
//
// Example:
//   Toolkit tools;
//   tools.add(std::make_unique<FunctionTool>(spec, fn));   // owned
//   tools.add(search_mock);                                // borrowed
//   request.tools = tools.specs();
//   if (Tool* t = tools.find("search")) { ... }
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "keel/agent/tool.h"
#include "keel/model/message.h"

namespace keel::agent {

class Toolkit {
 public:
  Toolkit() = default;
  Toolkit(Toolkit&&) noexcept = default;
  Toolkit& operator=(Toolkit&&) noexcept = default;
  Toolkit(const Toolkit&) = delete;
  Toolkit& operator=(const Toolkit&) = delete;

  // Takes ownership. Throws std::invalid_argument (null, empty or duplicate name).
  Tool& add(std::unique_ptr<Tool> tool);
  // Borrows: `tool` must outlive this toolkit. Throws like the owning overload.
  Tool& add(Tool& tool);
  // Constructs an owned tool in place: `auto& t = kit.emplace<FunctionTool>(spec, fn);`
  template <class T, class... Args>
    requires std::is_base_of_v<Tool, T>
  T& emplace(Args&&... args) {
    auto owned = std::make_unique<T>(std::forward<Args>(args)...);
    T& ref = *owned;
    add(std::unique_ptr<Tool>(std::move(owned)));
    return ref;
  }

  // The tool named `name`, or nullptr.
  Tool* find(std::string_view name) const noexcept;
  bool contains(std::string_view name) const noexcept { return find(name) != nullptr; }

  // Every tool's spec, in registration order (for ChatRequest::tools).
  // Shared with every request built from it: copying it copies no spec (shared_list.h).
  const model::SharedList<model::ToolSpec>& specs() const noexcept { return specs_; }
  std::vector<std::string> names() const;
  std::size_t size() const noexcept { return tools_.size(); }
  bool empty() const noexcept { return tools_.empty(); }

 private:
  Tool& insert(Tool& tool, std::unique_ptr<Tool> owned);

  std::vector<Tool*> tools_;                          // registration order
  std::vector<std::unique_ptr<Tool>> owned_;
  std::map<std::string, Tool*, std::less<>> by_name_;
  model::SharedList<model::ToolSpec> specs_;          // taken when each tool is added
};

}  // namespace keel::agent
