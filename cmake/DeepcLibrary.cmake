# DeepcLibrary.cmake - deepc_add_library(): one deepc library, built shared
# and static from the same objects, with its install rules.
#
#   deepc_add_library(NAME SOURCES src.c...
#                     [DEEPC deepc libraries it builds on...]
#                     [PUBLIC dependencies its public header needs...]
#                     [PRIVATE dependencies only its code needs...])
#
# makes
#   NAME          libNAME.so.VERSION, soname libNAME.so.SOVERSION (DEEPC_SOVERSION)
#   NAME_static   libNAME.a
# both exported as deepc::NAME and deepc::NAME_static.  The shared library
# links the shared DEEPC libraries, the static one the static ones.  A shared
# library keeps its PRIVATE dependencies to itself; a static one passes them
# on to whatever links it (CMake's $<LINK_ONLY:...>), so an installed static
# library needs them found again (cmake/deepcConfig.cmake.in).
# Every object is position independent, so one compile serves both.
function(deepc_add_library name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;DEEPC;PUBLIC;PRIVATE")

  add_library(${name}_obj OBJECT ${arg_SOURCES})
  set_target_properties(${name}_obj PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${name}_obj PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(${name}_obj PRIVATE _DEFAULT_SOURCE)
  # only the dependencies' compile flags and include paths matter here
  target_link_libraries(${name}_obj PRIVATE ${arg_PUBLIC} ${arg_PRIVATE})

  add_library(${name} SHARED $<TARGET_OBJECTS:${name}_obj>)
  set_target_properties(${name} PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${DEEPC_SOVERSION}
                                           INSTALL_RPATH "${DEEPC_INSTALL_RPATH}")
  add_library(${name}_static STATIC $<TARGET_OBJECTS:${name}_obj>)
  set_target_properties(${name}_static PROPERTIES OUTPUT_NAME ${name})

  foreach(lib ${name} ${name}_static)
    target_include_directories(${lib} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                             $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    target_link_libraries(${lib} PUBLIC ${arg_PUBLIC} PRIVATE ${arg_PRIVATE})
    add_library(deepc::${lib} ALIAS ${lib})
  endforeach()
  foreach(dep ${arg_DEEPC})
    target_link_libraries(${name} PUBLIC ${dep})
    target_link_libraries(${name}_static PUBLIC ${dep}_static)
  endforeach()

  install(TARGETS ${name} ${name}_static EXPORT deepcTargets
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(FILES ${PROJECT_SOURCE_DIR}/include/${name}.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()
