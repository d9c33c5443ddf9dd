#!/bin/sh
# tests/mpirun.sh NP COMMAND... — run COMMAND on NP real MPI ranks on this machine, with what
# Open MPI needs here: run-as-root permission when we are root, oversubscription (more ranks
# than cores), the shared-memory transport, and a hard timeout so a hang fails the test.
np=$1; shift
if [ "$(id -u)" = 0 ]; then
    OMPI_ALLOW_RUN_AS_ROOT=1; OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM
fi
: "${OMPI_MCA_btl:=self,vader}"; export OMPI_MCA_btl
: "${PD_TEST_TIMEOUT:=300}"
exec timeout -k 10 "$PD_TEST_TIMEOUT" "${MPIRUN:-mpirun}" --oversubscribe -np "$np" "$@"
