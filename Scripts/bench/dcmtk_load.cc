// Time DCMTK's DcmFileFormat::loadFile over files given on the command line.
//   dcmtk_load PASSES MAXREAD FILE...   (MAXREAD: values longer than this stay
//   on disk, "not loaded", as dcmdump does by default; 0 loads everything)
// Prints "<files per second> <MB per second>" for the best pass.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sys/stat.h>

int main(int argc, char **argv) {
    if (argc < 4) { std::fprintf(stderr, "usage: dcmtk_load PASSES MAXREAD FILE...\n"); return 2; }
    int passes = std::atoi(argv[1]);
    long maxRead = std::atol(argv[2]);
    double bytes = 0;
    for (int i = 3; i < argc; i++) { struct stat st; if (stat(argv[i], &st) == 0) bytes += st.st_size; }
    double best = 0, bestMB = 0;
    for (int p = 0; p < passes; p++) {
        auto t0 = std::chrono::steady_clock::now();
        for (int i = 3; i < argc; i++) {
            DcmFileFormat ff;
            OFCondition c = ff.loadFile(argv[i], EXS_Unknown, EGL_noChange,
                                        maxRead > 0 ? (Uint32)maxRead : DCM_MaxReadLength);
            if (c.bad()) { std::fprintf(stderr, "%s: %s\n", argv[i], c.text()); return 1; }
            if (maxRead == 0) { ff.getDataset()->loadAllDataIntoMemory(); }
        }
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        double fps = (argc - 3) / s;
        if (fps > best) { best = fps; bestMB = bytes / 1e6 / s; }
    }
    std::printf("%.1f %.1f\n", best, bestMB);
    return 0;
}
