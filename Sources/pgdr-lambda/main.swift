import CGlibcFloor
import DRLambda
import Foundation

// The Lambda `bootstrap` (provided.al2023) of pgdr's two functions; see docs/functions.md.
// PGDR_LAMBDA_LIMIT (tests): serve that many invocations, then exit.
let limit = ProcessInfo.processInfo.environment["PGDR_LAMBDA_LIMIT"].flatMap(Int.init)
exit(await FunctionMain.run(limit: limit))
