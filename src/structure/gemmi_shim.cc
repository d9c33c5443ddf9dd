// gemmi_shim.cc — the only C++ in proteindiff: reads PDB/mmCIF (gzipped or not) with gemmi and
// hands back plain C arrays (structure.h). Every C++ exception is caught here and turned into
// a pd_status with a message naming the file and, where gemmi knows it, the line.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <string>
#include <vector>

#include <zlib.h>

#include <gemmi/mmread.hpp>
#include <gemmi/resinfo.hpp>

extern "C" {
#include "structure/structure.h"
}

namespace {

struct ResidueOut {
    int aa;
    int resnum;
    char icode;
    unsigned char flags;
    float ca_occupancy;          // decides between residues sharing a seqid (microheterogeneity)
    float xyz[PD_SLOTS * 3];
};

struct ChainOut {
    std::string id;
    std::vector<ResidueOut> residues;
};

// Whole file into memory through zlib, which reads plain files transparently: gzip is
// recognised by its magic bytes, never by the name.
pd_status read_whole_file(const char *path, std::vector<char> &buf)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        return pd_fail(PD_ERR_IO, "cannot open %s: %s", path, std::strerror(errno ? errno : ENOENT));
    gzbuffer(f, 1 << 17);
    size_t used = 0;
    buf.resize(1 << 16);
    for (;;) {
        if (buf.size() - used < (1 << 15))
            buf.resize(buf.size() * 2);
        size_t room = std::min(buf.size() - used, (size_t)1 << 30);
        int got = gzread(f, buf.data() + used, (unsigned)room);
        if (got < 0) {
            int code = 0;
            std::string msg = gzerror(f, &code);
            gzclose(f);
            return pd_fail(PD_ERR_IO, "cannot decompress %s: %s", path, msg.c_str());
        }
        if (got == 0) {
            // A gzip stream cut short ends like a file (got 0) with Z_BUF_ERROR set: refuse
            // it rather than read the part that survived as if it were the whole structure.
            int code = Z_OK;
            std::string msg = gzerror(f, &code);
            if (code != Z_OK && code != Z_STREAM_END) {
                gzclose(f);
                return pd_fail(PD_ERR_IO, "cannot decompress %s: %s (truncated or corrupt gzip file)", path,
                               code == Z_BUF_ERROR ? "unexpected end of the gzip stream" : msg.c_str());
            }
            break;
        }
        used += (size_t)got;
    }
    gzclose(f);
    buf.resize(used);
    return PD_OK;
}

bool only_whitespace(const std::vector<char> &buf)
{
    for (char c : buf)
        if (!std::isspace((unsigned char)c))
            return false;
    return true;
}

// Amino-acid index of a residue name, or -1 when the name is not an amino acid by gemmi's
// table. `modified` is set when a non-standard name was mapped (to a parent or to X).
int amino_acid_index(const std::string &name, bool &modified)
{
    modified = false;
    int aa = pd_aa_from_three(name.c_str());
    if (aa >= 0)
        return aa;
    gemmi::ResidueInfo info = gemmi::find_tabulated_residue(name);
    if (!info.is_amino_acid())
        return -1;
    modified = true;
    // gemmi writes a modified residue's parent as a lower-case one-letter code (MSE 'm');
    // codes outside the 20 (U, O, B, Z, X, ' ') are unknown.
    return pd_aa_from_letter(info.one_letter_code);
}

bool has_backbone_atoms(const gemmi::Residue &res)
{
    bool n = false, ca = false, c = false;
    for (const gemmi::Atom &a : res.atoms) {
        if (a.is_hydrogen())
            continue;
        if (a.name == "N") n = true;
        else if (a.name == "CA") ca = true;
        else if (a.name == "C") c = true;
    }
    return n && ca && c;
}

// Coordinates beyond this (Angstrom) or not finite ("nan", "inf", 1e300 in an mmCIF file) are
// not a position: such an atom counts as missing, so it can never make a residue valid or put
// a non-finite number into the features (and the cast to float stays defined).
const double max_coordinate = 1e6;

bool usable_position(const gemmi::Position &p)
{
    return std::isfinite(p.x) && std::isfinite(p.y) && std::isfinite(p.z) && std::fabs(p.x) <= max_coordinate &&
           std::fabs(p.y) <= max_coordinate && std::fabs(p.z) <= max_coordinate;
}

// Fill one residue's atom14 slots, keeping per slot the highest-occupancy conformer (the
// first one in the file on a tie). Atoms without a usable position are skipped.
void fill_atoms(const gemmi::Residue &res, ResidueOut &out)
{
    float best_occ[PD_SLOTS];
    for (int s = 0; s < PD_SLOTS; s++) {
        best_occ[s] = -1.0f;
        out.xyz[s * 3 + 0] = out.xyz[s * 3 + 1] = out.xyz[s * 3 + 2] = NAN;
    }
    out.ca_occupancy = 0.0f;
    for (const gemmi::Atom &a : res.atoms) {
        if (a.is_hydrogen())
            continue;
        const char *name = a.name.c_str();
        if (out.aa == pd_aa_from_letter('M') && a.name == "SE")
            name = "SD";   // selenomethionine: SE plays SD
        int slot = pd_atom14_slot(out.aa, name);
        if (slot < 0 || !usable_position(a.pos))
            continue;
        if (a.has_altloc())
            out.flags |= PD_RES_ALTLOC;
        if (best_occ[slot] >= 0.0f && !(a.occ > best_occ[slot]))
            continue;
        best_occ[slot] = a.occ;
        out.xyz[slot * 3 + 0] = (float)a.pos.x;
        out.xyz[slot * 3 + 1] = (float)a.pos.y;
        out.xyz[slot * 3 + 2] = (float)a.pos.z;
    }
    out.ca_occupancy = best_occ[1];
}

const gemmi::Atom *find_atom(const gemmi::Residue &res, const char *name)
{
    for (const gemmi::Atom &a : res.atoms)
        if (a.name == name)
            return &a;
    return nullptr;
}

// C(i)-N(i+1) within 2 A: a residue bonded to a neighbour is part of a polymer even when the
// file calls it a ligand (HETATM amino acids after TER, e.g. a tag built as HETATM).
bool peptide_bonded(const gemmi::Chain &chain, size_t index)
{
    auto bonded = [&](const gemmi::Residue &a, const gemmi::Residue &b) {
        const gemmi::Atom *c = find_atom(a, "C"), *n = find_atom(b, "N");
        return c && n && c->pos.dist_sq(n->pos) <= 4.0;
    };
    const gemmi::Residue &res = chain.residues[index];
    return (index > 0 && bonded(chain.residues[index - 1], res)) ||
           (index + 1 < chain.residues.size() && bonded(res, chain.residues[index + 1]));
}

void collect_protein_chains(const gemmi::Model &model, std::vector<ChainOut> &chains)
{
    for (const gemmi::Chain &chain : model.chains) {
        ChainOut *out = nullptr;
        for (ChainOut &c : chains)
            if (c.id == chain.name)
                out = &c;
        // A non-polymer HETATM residue alone in its subchain is a ligand (a free amino acid
        // too). Everything else is judged residue by residue: ATOM records after a mid-chain
        // TER (gemmi then says non-polymer) and "non-polymer" subchains of many residues (a
        // mislabelled polymer in some old mmCIF files) stay protein.
        std::map<std::string, int> subchain_size;
        for (const gemmi::Residue &res : chain.residues)
            subchain_size[res.subchain]++;
        // A chain of HETATM residues none of which is peptide-bonded to another holds ligands,
        // whatever their names and whatever entity gemmi gives them (LigandMPNN#32: a free ALA
        // in a chain of its own, terminated by TER, reads as a polymer).
        bool polymer_chain = false;
        for (size_t index = 0; index < chain.residues.size() && !polymer_chain; index++)
            polymer_chain = chain.residues[index].het_flag == 'A' || peptide_bonded(chain, index);
        for (size_t index = 0; index < chain.residues.size(); index++) {
            const gemmi::Residue &res = chain.residues[index];
            if (res.entity_type == gemmi::EntityType::Water || res.is_water())
                continue;
            if ((res.entity_type == gemmi::EntityType::NonPolymer ||
                 res.entity_type == gemmi::EntityType::Branched) &&
                subchain_size[res.subchain] < 2 && res.het_flag != 'A' &&
                !peptide_bonded(chain, index))
                continue;
            if (!polymer_chain && res.het_flag == 'H')
                continue;
            bool modified = false;
            int aa = amino_acid_index(res.name, modified);
            if (aa < 0) {
                if (res.het_flag != 'A' || !has_backbone_atoms(res))
                    continue;
                aa = PD_AA_UNKNOWN;
                modified = true;
            }
            ResidueOut r;
            r.aa = aa;
            r.resnum = res.seqid.num.has_value() ? res.seqid.num.value : -999;
            r.icode = (res.seqid.icode == '\0' || res.seqid.icode == '?' || res.seqid.icode == '.')
                          ? ' ' : res.seqid.icode;
            r.flags = (unsigned char)((res.het_flag == 'H' ? PD_RES_HETATM : 0) |
                                      (modified ? PD_RES_MODIFIED : 0));
            fill_atoms(res, r);
            if (!out) {
                chains.emplace_back();
                chains.back().id = chain.name;
                out = &chains.back();
            }
            // Microheterogeneity: two residue names at one seqid are alternate conformers of
            // one residue; keep the one whose CA is more occupied (the first on a tie).
            if (!out->residues.empty()) {
                ResidueOut &prev = out->residues.back();
                if (prev.resnum == r.resnum && prev.icode == r.icode) {
                    if (r.ca_occupancy > prev.ca_occupancy) {
                        r.flags |= PD_RES_ALTLOC;
                        prev = r;
                    } else {
                        prev.flags |= PD_RES_ALTLOC;
                    }
                    continue;
                }
            }
            out->residues.push_back(r);
        }
    }
}

template <typename T> T *c_array(size_t n)
{
    void *p = std::calloc(n ? n : 1, sizeof(T));
    if (!p)
        throw std::bad_alloc();
    return static_cast<T *>(p);
}

void export_chains(const std::vector<ChainOut> &chains, pd_structure *out)
{
    int n_chains = 0;
    for (const ChainOut &c : chains)
        if (!c.residues.empty())
            n_chains++;
    out->chains = c_array<pd_chain>((size_t)n_chains);
    for (const ChainOut &c : chains) {
        if (c.residues.empty())
            continue;
        pd_chain &pc = out->chains[out->n_chains++];
        size_t n = c.residues.size();
        pc.id = c_array<char>(c.id.size() + 1);
        std::memcpy(pc.id, c.id.c_str(), c.id.size() + 1);
        pc.n = (int)n;
        pc.aa = c_array<uint8_t>(n);
        pc.resnum = c_array<int32_t>(n);
        pc.icode = c_array<char>(n);
        pc.flags = c_array<uint8_t>(n);
        pc.atom14 = c_array<float>(n * PD_SLOTS * 3);
        for (size_t i = 0; i < n; i++) {
            const ResidueOut &r = c.residues[i];
            pc.aa[i] = (uint8_t)r.aa;
            pc.resnum[i] = r.resnum;
            pc.icode[i] = r.icode;
            pc.flags[i] = r.flags;
            std::memcpy(pc.atom14 + i * PD_SLOTS * 3, r.xyz, sizeof r.xyz);
        }
    }
}

// gemmi 0.5 keeps SSBOND, LINK and CISPEP records of a PDB file as strings and later reads
// fixed columns (up to column 78) from them without checking the length: a record of 74 to 77
// characters is read past its end (a heap overflow found by fuzz-structure, input kept in
// tests/fuzz/regressions/structure/). Such records are padded with blanks to 80 columns first,
// which reads exactly as the short record would have (blank columns are empty fields); a NUL
// byte inside one (gemmi would cut the record there) becomes a blank too.
bool connection_record(const char *line, size_t len)
{
    if (len < 4)
        return false;
    char head[5] = {0};
    for (int i = 0; i < 4; i++)
        head[i] = (char)std::toupper((unsigned char)line[i]);
    return !std::strcmp(head, "SSBO") || !std::strcmp(head, "LINK") || !std::strcmp(head, "CISP");
}

const size_t connection_record_width = 80;

bool short_or_cut(const char *line, size_t len)
{
    return len < connection_record_width || std::memchr(line, '\0', len) != nullptr;
}

void pad_connection_records(std::vector<char> &buf)
{
    const size_t width = connection_record_width;
    bool needed = false;
    for (size_t at = 0; at < buf.size() && !needed;) {
        size_t end = at;
        while (end < buf.size() && buf[end] != '\n' && buf[end] != '\r')
            end++;
        needed = connection_record(&buf[at], end - at) && short_or_cut(&buf[at], end - at);
        at = end + 1;
    }
    if (!needed)
        return;
    std::vector<char> out;
    out.reserve(buf.size() + 4096);
    for (size_t at = 0; at < buf.size();) {
        size_t end = at;
        while (end < buf.size() && buf[end] != '\n' && buf[end] != '\r')
            end++;
        size_t first = out.size();
        out.insert(out.end(), buf.begin() + (long)at, buf.begin() + (long)end);
        if (connection_record(&buf[at], end - at)) {
            std::replace(out.begin() + (long)first, out.end(), '\0', ' ');
            if (end - at < width)
                out.insert(out.end(), width - (end - at), ' ');
        }
        if (end < buf.size())
            out.push_back(buf[end]);
        at = end + 1;
    }
    buf.swap(out);
}

// gemmi parses mmCIF integers (atom ids, residue numbers, model numbers, "12A" sequence ids)
// with 32-bit arithmetic that overflows, undefined behaviour in gemmi 0.5, on values of ten or
// more digits. No real file has such a value (none of the mmCIF files of the demo set does), so
// one is refused as a parse error before gemmi reads the document into a structure.
bool overflowing_integer(const std::string &v)
{
    size_t i = (v[0] == '-' || v[0] == '+') ? 1 : 0, digits = 0;
    while (i + digits < v.size() && v[i + digits] >= '0' && v[i + digits] <= '9')
        digits++;
    size_t rest = v.size() - i - digits;
    return digits >= 10 && (rest == 0 || (rest == 1 && std::isalpha((unsigned char)v.back()) && v.back() != 'e' &&
                                          v.back() != 'E'));
}

pd_status check_cif_integers(const gemmi::cif::Document &doc)
{
    for (const gemmi::cif::Block &block : doc.blocks)
        for (const gemmi::cif::Item &item : block.items) {
            if (item.type == gemmi::cif::ItemType::Pair && !item.pair[1].empty() && overflowing_integer(item.pair[1]))
                return pd_fail(PD_ERR_PARSE, "parse error at line %d: %s = %.40s is an integer beyond 32 bits",
                               item.line_number, item.pair[0].c_str(), item.pair[1].c_str());
            if (item.type != gemmi::cif::ItemType::Loop || item.loop.tags.empty())
                continue;
            const gemmi::cif::Loop &loop = item.loop;
            for (size_t k = 0; k < loop.values.size(); k++)
                if (!loop.values[k].empty() && overflowing_integer(loop.values[k]))
                    return pd_fail(PD_ERR_PARSE, "parse error in the loop at line %d: %s = %.40s is an integer beyond 32 bits",
                                   item.line_number, loop.tags[k % loop.tags.size()].c_str(), loop.values[k].c_str());
        }
    return PD_OK;
}

pd_status read_structure(const char *path, pd_structure *out)
{
    std::vector<char> buf;
    pd_status st = read_whole_file(path, buf);
    if (st != PD_OK)
        return st;
    if (buf.empty())
        return pd_fail(PD_ERR_PARSE, "empty file (0 bytes)");
    if (only_whitespace(buf))
        return pd_fail(PD_ERR_PARSE, "empty file (only whitespace)");

    gemmi::CoorFormat format = gemmi::coor_format_from_content(buf.data(), buf.data() + buf.size());
    gemmi::Structure s;
    switch (format) {
    case gemmi::CoorFormat::Pdb:
        std::strcpy(out->format, "pdb");
        pad_connection_records(buf);
        s = gemmi::read_pdb_from_memory(buf.data(), buf.size(), path);
        break;
    case gemmi::CoorFormat::Mmcif:
    case gemmi::CoorFormat::Mmjson: {
        bool json = format == gemmi::CoorFormat::Mmjson;
        std::strcpy(out->format, json ? "mmjson" : "mmcif");
        gemmi::cif::Document doc = json ? gemmi::cif::read_mmjson_insitu(buf.data(), buf.size(), path)
                                        : gemmi::cif::read_memory(buf.data(), buf.size(), path);
        pd_status st = check_cif_integers(doc);
        if (st != PD_OK)
            return st;
        s = gemmi::make_structure(std::move(doc));
        break;
    }
    default:
        return pd_fail(PD_ERR_PARSE, "not a structure: fewer than 8 non-blank characters");
    }
    out->n_models = (int)s.models.size();
    if (s.models.empty() || s.models[0].chains.empty())
        return pd_fail(PD_ERR_PARSE, "not a structure: no ATOM/HETATM records (read as %s)", out->format);
    const gemmi::Model &model = s.models[0];
    for (const gemmi::Chain &c : model.chains)
        for (const gemmi::Residue &r : c.residues)
            out->n_atoms += (long)r.atoms.size();
    std::vector<ChainOut> chains;
    collect_protein_chains(model, chains);
    export_chains(chains, out);
    return PD_OK;
}

// "Problem in line 12: msg" (gemmi's PDB reader) -> "parse error at line 12: msg".
pd_status parse_failure(const char *what)
{
    int line = 0;
    const char *prefix = "Problem in line ";
    if (std::strncmp(what, prefix, std::strlen(prefix)) == 0 && std::sscanf(what + std::strlen(prefix), "%d", &line) == 1) {
        const char *msg = std::strchr(what, ':');
        std::string m = msg ? msg + 1 : what;
        std::replace(m.begin(), m.end(), '\n', ' ');
        return pd_fail(PD_ERR_PARSE, "parse error at line %d:%s", line, m.c_str());
    }
    std::string m = what;
    std::replace(m.begin(), m.end(), '\n', ' ');
    return pd_fail(PD_ERR_PARSE, "parse error: %s", m.c_str());
}

} // namespace

extern "C" pd_status pd_structure_read(const char *path, pd_structure *out)
{
    std::memset(out, 0, sizeof *out);
    pd_status st;
    try {
        st = read_structure(path, out);
    } catch (const tao::pegtl::parse_error &e) {
        int line = e.positions().empty() ? 0 : (int)e.positions().front().line;
        std::string m(e.message());
        std::replace(m.begin(), m.end(), '\n', ' ');
        st = pd_fail(PD_ERR_PARSE, "parse error at line %d: %s", line, m.c_str());
    } catch (const std::bad_alloc &) {
        st = pd_fail(PD_ERR_NOMEM, "out of memory reading %s", path);
    } catch (const std::exception &e) {
        st = parse_failure(e.what());
    } catch (...) {
        st = pd_fail(PD_ERR_PARSE, "parse error: unknown exception from gemmi");
    }
    if (st != PD_OK)
        pd_structure_free(out);
    return st;
}

extern "C" void pd_structure_free(pd_structure *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_chains; i++) {
        pd_chain &c = s->chains[i];
        std::free(c.id);
        std::free(c.aa);
        std::free(c.resnum);
        std::free(c.icode);
        std::free(c.flags);
        std::free(c.atom14);
    }
    std::free(s->chains);
    char format[8];
    std::memcpy(format, s->format, sizeof format);
    std::memset(s, 0, sizeof *s);
    std::memcpy(s->format, format, sizeof format);
}
