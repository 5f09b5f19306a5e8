@testable import DRDrill
import Testing

/// How the restore drill judges a restored copy (the drill itself runs on the lab in BackupCommandTests).
@Suite struct RestoreDrillJudgeTests {
    @Test func aCancelledInsertsGapIsInBothAndStillExact() {
        // Id 5 timed out on the primary (never committed): both sides skip it.
        let primary = [1, 2, 3, 4, 6, 7, 8, 9]
        #expect(RestoreDrill.exact(restored: [1, 2, 3, 4, 6, 7], primary: primary, acknowledged: [1, 2, 3, 4, 6], possiblyBefore: 8))
        // A row missing inside the restored range is a loss.
        #expect(!RestoreDrill.exact(restored: [1, 2, 4, 6, 7], primary: primary, acknowledged: [1, 2, 3, 4, 6], possiblyBefore: 8))
        // An id acknowledged before the moment must be there.
        #expect(!RestoreDrill.exact(restored: [1, 2, 3], primary: primary, acknowledged: [1, 2, 3, 4], possiblyBefore: 8))
        // Nothing sent after the moment.
        #expect(!RestoreDrill.exact(restored: [1, 2, 3, 4, 6, 7, 8, 9], primary: primary, acknowledged: [1, 2, 3, 4], possiblyBefore: 8))
        #expect(RestoreDrill.exact(restored: [], primary: primary, acknowledged: [], possiblyBefore: 1))
    }
}
