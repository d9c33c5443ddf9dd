/* schema.h — the dataset file of SPEC.md section 6 in one place: format name and version,
 * every dataset path with its description, chunk sizes and string widths, so the writer, the
 * reader, inspect and the docs (docs/dataset-format.md) cannot disagree. */
#ifndef PD_DATASET_SCHEMA_H
#define PD_DATASET_SCHEMA_H

#define PD_DATASET_FORMAT "proteindiff-dataset"
#define PD_DATASET_VERSION 1
/* Root attribute written last, just before the file is closed and renamed from NAME.partial:
 * a file without complete = 1 never looks finished. */
#define PD_DATASET_COMPLETE_ATTR "complete"
#define PD_DATASET_PARTIAL_SUFFIX ".partial"
#define PD_DATASET_DISTOGRAM_DMAX 80.0

/* Fixed-length string widths (parallel HDF5 cannot write variable-length strings
 * collectively). Names and sources are sized from the inputs at creation; reasons are cut at
 * this many bytes. */
#define PD_DATASET_REASON_WIDTH 256

/* Chunk sizes along the first (growing) dimension. */
#define PD_CHUNK_ENTRIES 1024
#define PD_CHUNK_RESIDUES 4096
#define PD_CHUNK_VOXEL_RESIDUES 32
#define PD_CHUNK_DISTOGRAM_BYTES (1 << 20)
#define PD_CHUNK_FAILURES 256

/* Dataset paths and their `description` attributes. */
#define PD_DS_NAME "/entries/name"
#define PD_DS_SOURCE "/entries/source"
#define PD_DS_LENGTH "/entries/length"
#define PD_DS_RESIDUE_OFFSET "/entries/residue_offset"
#define PD_DS_DISTOGRAM_OFFSET "/entries/distogram_offset"
#define PD_DS_SPLIT "/entries/split"
#define PD_DS_AA "/residues/aa"
#define PD_DS_CHAIN "/residues/chain"
#define PD_DS_RESNUM "/residues/resnum"
#define PD_DS_ICODE "/residues/icode"
#define PD_DS_MASK "/residues/mask"
#define PD_DS_ATOM14 "/residues/atom14"
#define PD_DS_CB "/residues/cb"
#define PD_DS_VOXELS "/voxels/divergence"
#define PD_DS_DISTOGRAM "/distograms/data"
#define PD_DS_FAILED_SOURCE "/failed/source"
#define PD_DS_FAILED_REASON "/failed/reason"

#define PD_DESC_NAME "entry name: <file stem>_<author chain id> (chain unit) or <file stem> (assembly unit)"
#define PD_DESC_SOURCE "input structure file the entry came from, as expanded from data.inputs"
#define PD_DESC_LENGTH "residues L in the entry"
#define PD_DESC_RESIDUE_OFFSET "first row of the entry in every /residues/* and /voxels/* dataset"
#define PD_DESC_DISTOGRAM_OFFSET "first byte of the entry's L*L*3 image in /distograms/data"
#define PD_DESC_SPLIT "0 train, 1 valid, 2 test (data.split_file, else FNV-1a-64 of the name against the fractions)"
#define PD_DESC_AA "amino acid index in ACDEFGHIKLMNPQRSTVWY (0..19), 20 = X (unknown)"
#define PD_DESC_CHAIN "chain index within the entry (0 in chain mode)"
#define PD_DESC_RESNUM "author residue number"
#define PD_DESC_ICODE "author insertion code, ' ' when none"
#define PD_DESC_MASK "bit 0 valid backbone (N, CA, C), bit 1 O present, bit 2 all side-chain heavy atoms present"
#define PD_DESC_ATOM14 "heavy atoms in the 14-slot order (N, CA, C, O, side chain in PDB order), Angstrom, NaN where missing"
#define PD_DESC_CB "virtual C-beta (SPEC.md section 2), Angstrom, NaN without a valid backbone"
#define PD_DESC_VOXELS "side-chain field divergence on a VxVxV grid in the residue frame (SPEC.md section 4); zeros for invalid residues"
#define PD_DESC_DISTOGRAM "distogram images (SPEC.md section 3), each entry L*L*3 bytes row-major (i, j, channel R/G/B)"
#define PD_DESC_FAILED_SOURCE "input file of a skipped input or chain"
#define PD_DESC_FAILED_REASON "why it was skipped (cut at 255 bytes)"

#endif
