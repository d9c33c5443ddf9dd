# src/parallel/local.mk — communicators, collectives (MPI; NCCL under cuda/), failure agreement.
libproteindiff_a_SOURCES += \
	src/parallel/comm.c src/parallel/comm.h
