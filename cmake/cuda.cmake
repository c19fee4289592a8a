# fastfit._cuda: the CUDA kernels, a second extension module that fastfit imports only where a GPU is
# present (csrc/kernels/cuda/README.md). FASTFIT_CUDA=AUTO builds it when cuBLASLt and nvcc are both
# found, ON requires them, OFF skips it. cuBLASLt is looked for first, and without it no CUDA compiler
# is even probed: a CPU-only machine configures as fast as before.

if(FASTFIT_CUDA STREQUAL "OFF")
  message(STATUS "fastfit: FASTFIT_CUDA=OFF: building the CPU core only")
  return()
endif()
if(NOT FASTFIT_CUDA MATCHES "^(AUTO|ON)$")
  message(FATAL_ERROR "FASTFIT_CUDA must be AUTO, ON or OFF, got '${FASTFIT_CUDA}'")
endif()

function(fastfit_no_cuda)  # the arguments, joined, say why
  string(JOIN "" why ${ARGV})
  if(FASTFIT_CUDA STREQUAL "ON")
    message(FATAL_ERROR "FASTFIT_CUDA=ON but ${why}")
  endif()
  message(STATUS "fastfit: ${why}: building the CPU core only (FASTFIT_CUDA=AUTO)")
endfunction()

# Where cuBLASLt may be: FASTFIT_CUBLAS_ROOT; the nvidia-cublas wheel on this Python's path (CUDA 13:
# nvidia/cu13, CUDA 12: nvidia/cublas; under pip's build isolation only with --no-build-isolation);
# the CUDA toolkit (CUDA_HOME, CUDA_PATH, /usr/local/cuda, beside nvcc).
execute_process(
  COMMAND "${Python_EXECUTABLE}" -c
          "import os, sys\nfor p in sys.path:\n    for d in ('nvidia/cu13', 'nvidia/cublas'):\n        r = os.path.join(p, d)\n        if os.path.exists(os.path.join(r, 'include', 'cublasLt.h')): print(r)"
  OUTPUT_VARIABLE _wheel_roots OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REPLACE "\n" ";" _wheel_roots "${_wheel_roots}")
if(DEFINED ENV{CUDACXX})
  set(_nvcc "$ENV{CUDACXX}")
else()
  find_program(_nvcc nvcc PATHS /usr/local/cuda/bin NO_CACHE)
endif()
set(_toolkit_roots $ENV{CUDA_HOME} $ENV{CUDA_PATH} /usr/local/cuda)
if(_nvcc)
  get_filename_component(_nvcc_dir "${_nvcc}" DIRECTORY)
  list(APPEND _toolkit_roots "${_nvcc_dir}/..")
endif()
set(_roots ${FASTFIT_CUBLAS_ROOT} ${_wheel_roots} ${_toolkit_roots})
unset(FASTFIT_CUBLASLT_INCLUDE CACHE)  # search anew each time: cuBLAS may have been installed since
unset(FASTFIT_CUBLASLT_LIBRARY CACHE)
find_path(FASTFIT_CUBLASLT_INCLUDE cublasLt.h PATHS ${_roots} PATH_SUFFIXES include NO_DEFAULT_PATH)
# The wheels ship only versioned names (libcublasLt.so.13): name them.
find_library(FASTFIT_CUBLASLT_LIBRARY NAMES cublasLt libcublasLt.so.13 libcublasLt.so.12 PATHS ${_roots}
             PATH_SUFFIXES lib lib64 targets/x86_64-linux/lib NO_DEFAULT_PATH)
if(NOT FASTFIT_CUBLASLT_INCLUDE OR NOT FASTFIT_CUBLASLT_LIBRARY)
  list(JOIN _roots ", " _looked)
  fastfit_no_cuda("cuBLASLt was not found (looked in ${_looked}): pip install nvidia-cublas, then build with "
                  "--no-build-isolation, or set FASTFIT_CUBLAS_ROOT")
  return()
endif()

include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  fastfit_no_cuda("no CUDA compiler was found (put nvcc on PATH or set CUDACXX)")
  return()
endif()

if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 90)  # H100/H200; add 80;89;100;120 for a wheel that runs on more GPUs
endif()
set(CMAKE_CUDA_RUNTIME_LIBRARY Static)  # no libcudart.so at run time: only the driver and cuBLASLt
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
message(STATUS "fastfit: building fastfit._cuda for sm_${CMAKE_CUDA_ARCHITECTURES} with ${FASTFIT_CUBLASLT_LIBRARY}")

# The kernels, built apart so that pybind11's module flags (LTO) stay on the host code.
file(GLOB FASTFIT_CUDA_KERNELS CONFIGURE_DEPENDS csrc/kernels/cuda/*.cu)
add_library(fastfit_cuda_kernels STATIC ${FASTFIT_CUDA_KERNELS})
set_target_properties(fastfit_cuda_kernels PROPERTIES POSITION_INDEPENDENT_CODE ON CUDA_VISIBILITY_PRESET hidden)
target_include_directories(fastfit_cuda_kernels PRIVATE csrc ${FASTFIT_CUBLASLT_INCLUDE})
target_compile_definitions(fastfit_cuda_kernels PRIVATE FASTFIT_CUDA_ABI=${FASTFIT_CUDA_ABI})
# Products rounded before they are added, IEEE division and square root: elementwise results, the
# optimizer rules and the metric folds round as the CPU's do.
target_compile_options(fastfit_cuda_kernels PRIVATE --extended-lambda --fmad=false -prec-div=true -prec-sqrt=true
                       -Xcompiler=-fvisibility=hidden)
target_link_libraries(fastfit_cuda_kernels PRIVATE CUDA::cudart_static)

pybind11_add_module(_cuda MODULE csrc/kernels/cuda/module.cpp csrc/kernels/cuda/runtime.cpp)
target_include_directories(_cuda PRIVATE csrc ${FASTFIT_CUBLASLT_INCLUDE})
target_compile_definitions(_cuda PRIVATE FASTFIT_CUDA_ABI=${FASTFIT_CUDA_ABI})
target_compile_options(_cuda PRIVATE -O3 -Wall -Wextra)
target_link_libraries(_cuda PRIVATE fastfit_cuda_kernels CUDA::cudart_static ${FASTFIT_CUBLASLT_LIBRARY})
# cuBLASLt at run time: the wheel beside us in site-packages, or where it was found at build time.
get_filename_component(_cublas_dir "${FASTFIT_CUBLASLT_LIBRARY}" DIRECTORY)
set_target_properties(_cuda PROPERTIES INSTALL_RPATH "$ORIGIN/../nvidia/cu13/lib;$ORIGIN/../nvidia/cublas/lib;${_cublas_dir}"
                                       BUILD_RPATH "${_cublas_dir}")
install(TARGETS _cuda LIBRARY DESTINATION fastfit)
