# Install rules and the exported CMake package (`find_package(keel)`; link keel::runtime and
# keel::live). Kept out of the layer CMakeLists: this file adds the install-tree include path
# and the exported name to each layer target, and defines the keel::runtime umbrella.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# keel::runtime — every runtime layer that has no Asio (core, policy, model, agent, workforce,
# config: the presets).
add_library(keel_runtime INTERFACE)
add_library(keel::runtime ALIAS keel_runtime)
target_link_libraries(keel_runtime INTERFACE keel::workforce keel::config)
set_target_properties(keel_runtime PROPERTIES EXPORT_NAME runtime)

set(KEEL_INSTALLED_LAYERS core policy model agent workforce config live)
set(KEEL_INSTALLED_TARGETS keel_runtime)
foreach(layer IN LISTS KEEL_INSTALLED_LAYERS)
  set(target keel_${layer})
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    target_include_directories(${target} INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  else()
    target_include_directories(${target} PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  endif()
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${layer})
  list(APPEND KEEL_INSTALLED_TARGETS ${target})
  if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/${layer}/include)
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/${layer}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endif()
endforeach()

install(TARGETS ${KEEL_INSTALLED_TARGETS} EXPORT keelTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT keelTargets NAMESPACE keel:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/keel)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/keelConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/keelConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/keel)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/keelConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/keelConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/keelConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/keel)
