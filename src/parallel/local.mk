# src/parallel/local.mk — communicators, collectives (MPI; NCCL under cuda/), failure agreement,
# shard/replica topology, flat-buffer sharding arithmetic and the global batch sampler.
libproteindiff_a_SOURCES += \
	src/parallel/comm.c src/parallel/comm.h \
	src/parallel/topology.c src/parallel/topology.h \
	src/parallel/collectives.c src/parallel/collectives.h \
	src/parallel/shard.c src/parallel/shard.h \
	src/parallel/sampler.c src/parallel/sampler.h \
	src/parallel/memory_budget.c src/parallel/memory_budget.h
