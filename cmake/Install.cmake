# `cmake --install` exports probspace::core, probspace::solvers, probspace::probspace.
include(CMakePackageConfigHelpers)
set(PROBSPACE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/probspace)
set(_targets probspace_core probspace)
if(PROBSPACE_SOLVERS)
  list(APPEND _targets probspace_solvers)
endif()
install(TARGETS ${_targets} EXPORT probspaceTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/probspace DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT probspaceTargets NAMESPACE probspace:: DESTINATION ${PROBSPACE_CMAKE_DIR})
configure_package_config_file(cmake/probspaceConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/probspaceConfig.cmake INSTALL_DESTINATION ${PROBSPACE_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/probspaceConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/probspaceConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/probspaceConfigVersion.cmake
        DESTINATION ${PROBSPACE_CMAKE_DIR})
install(TARGETS probspace-nbce RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
