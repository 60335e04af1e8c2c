# DeepcPackage.cmake - what `cmake --install` writes besides the libraries and
# headers (included after the libraries are defined):
#   lib/pkgconfig/deepc.pc, deepc_plot.pc, deepc_mpi.pc   for pkg-config
#   lib/cmake/deepc/deepcConfig.cmake, deepcConfigVersion.cmake,
#     deepcTargets*.cmake                                  for find_package(deepc)
# Both are relocatable: the prefix given to `cmake --install --prefix` is
# found at use from where the files lie.
include(CMakePackageConfigHelpers)

# The .pc files hold ${pcfiledir}/<this> as their prefix.
file(RELATIVE_PATH DEEPC_PC_TO_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
string(REGEX REPLACE "/$" "" DEEPC_PC_TO_PREFIX ${DEEPC_PC_TO_PREFIX})

# deepc_pkgconfig(NAME DESCRIPTION text [REQUIRES ...] [REQUIRES_PRIVATE ...]
#                 [CFLAGS ...] [LIBS ...] [LIBS_PRIVATE ...]): lib/pkgconfig/NAME.pc.
# LIBS_PRIVATE is what linking the static library needs beyond REQUIRES_PRIVATE.
function(deepc_pkgconfig name)
  cmake_parse_arguments(PARSE_ARGV 1 PC "" "DESCRIPTION" "REQUIRES;REQUIRES_PRIVATE;CFLAGS;LIBS;LIBS_PRIVATE")
  set(PC_NAME ${name})
  foreach(field REQUIRES REQUIRES_PRIVATE CFLAGS LIBS LIBS_PRIVATE)
    list(JOIN PC_${field} " " PC_${field})
  endforeach()
  configure_file(${PROJECT_SOURCE_DIR}/cmake/deepc.pc.in ${PROJECT_BINARY_DIR}/pkgconfig/${name}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${name}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endfunction()

# OpenBLAS by path (and an RPATH to its directory), as the build links it:
# -lopenblas would take whatever the system's libopenblas alternative is.
# OpenMP as gcc's runtime library names (gomp, pthread), whatever compiler
# the user links with: deepc's objects call libgomp.
set(deepc_openmp_libs)
foreach(lib ${OpenMP_C_LIB_NAMES})
  list(APPEND deepc_openmp_libs -l${lib})
endforeach()
deepc_pkgconfig(deepc DESCRIPTION "Deep learning in C, the Keras way (core library)"
                REQUIRES_PRIVATE zlib libprotobuf-c
                LIBS_PRIVATE ${OPENBLAS_LIBRARY} -Wl,-rpath,${OPENBLAS_LIBRARY_DIR} ${deepc_openmp_libs} -ljpeg -lpthread -lm)
if(TARGET deepc_plot)
  deepc_pkgconfig(deepc_plot DESCRIPTION "deepc plots (PLplot: PNG and SVG)"
                  REQUIRES deepc REQUIRES_PRIVATE plplot LIBS_PRIVATE -lpthread -lm)
endif()
if(TARGET deepc_mpi)
  # MPI as CMake found it (deepc_mpi.h includes mpi.h; the program calls MPI_Init).
  list(TRANSFORM MPI_C_INCLUDE_DIRS PREPEND -I OUTPUT_VARIABLE deepc_mpi_cflags)
  deepc_pkgconfig(deepc_mpi DESCRIPTION "deepc data-parallel training over MPI"
                  REQUIRES deepc CFLAGS ${deepc_mpi_cflags} ${MPI_C_COMPILE_OPTIONS} LIBS ${MPI_C_LIBRARIES})
endif()

set(DEEPC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/deepc)
if(TARGET deepc_plot)
  set(DEEPC_HAS_PLOT TRUE)
else()
  set(DEEPC_HAS_PLOT FALSE)
endif()
if(TARGET deepc_mpi)
  set(DEEPC_HAS_MPI TRUE)
else()
  set(DEEPC_HAS_MPI FALSE)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/deepcConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/cmake/deepcConfig.cmake INSTALL_DESTINATION ${DEEPC_CMAKE_DIR})
# 0.x: a minor version may change the API, so only the same minor matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/deepcConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/deepcConfig.cmake ${PROJECT_BINARY_DIR}/cmake/deepcConfigVersion.cmake
        DESTINATION ${DEEPC_CMAKE_DIR})
install(EXPORT deepcTargets NAMESPACE deepc:: DESTINATION ${DEEPC_CMAKE_DIR})
