# cuda/local.mk — the CUDA backend, built only with ./configure --with-cuda. nvcc compiles
# each .cu into an object that joins libproteindiff.a.
CUDA_SRC_FILES = cuda/device.cu cuda/device.h cuda/nccl_collectives.cu
EXTRA_DIST += $(CUDA_SRC_FILES)
if HAVE_CUDA
CUDA_OBJECTS = cuda/device.$(OBJEXT) cuda/nccl_collectives.$(OBJEXT)
libproteindiff_a_LIBADD = $(CUDA_OBJECTS)
CLEANFILES += $(CUDA_OBJECTS)
# OMPI_SKIP_MPICXX: the C API of mpi.h only (its C++ bindings warn under -Wextra).
NVCC_ALL_FLAGS = -std=c++17 -O3 $(NVCCFLAGS) -DOMPI_SKIP_MPICXX -I$(top_srcdir)/src -I$(top_builddir) $(HDF5_CFLAGS) \
	-Xcompiler -fPIC
cuda/%.$(OBJEXT): cuda/%.cu
	@$(MKDIR_P) $(@D)
	$(AM_V_GEN)$(NVCC) $(NVCC_ALL_FLAGS) -c $< -o $@
endif
