# wagate_library(NAME SOURCES a.cc b.cc DEPS lib...)
#   A static library of one component.
function(wagate_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# wagate_test(NAME SOURCES a_test.cc DEPS lib... [LABELS l...] [TIMEOUT s])
#   A GoogleTest executable registered with CTest. Tests bind loopback on free
#   ports and must finish by themselves; TIMEOUT (default 300 s) is a backstop.
function(wagate_test name)
  if(NOT WAGATE_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT}
    LABELS "${ARG_LABELS}"
    ENVIRONMENT "WAGATE_SOURCE_DIR=${PROJECT_SOURCE_DIR};WAGATE_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()
