import AsyncHTTPClient
import DRAWS
import DRRDS
import Foundation
import Logging

/// The `bootstrap` of both functions: settings from the environment and the
/// packaged pgdr.yaml, then the Runtime API loop with the function that
/// PGDR_FUNCTION names. A settings error is reported as an init error.
public enum FunctionMain {
    public static func run(environment: [String: String] = ProcessInfo.processInfo.environment, limit: Int? = nil) async -> Int32 {
        var logger = Logger(label: "pgdr.lambda")
        logger.logLevel = environment["PGDR_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        guard let address = environment["AWS_LAMBDA_RUNTIME_API"], !address.isEmpty else {
            logger.critical("AWS_LAMBDA_RUNTIME_API is not set: this is a Lambda bootstrap, run by Lambda's custom runtime")
            return 2
        }
        let api = RuntimeAPI(address: address)
        let handler: any FunctionHandler
        do {
            let settings = try FunctionSettings.from(environment)
            let client = AWSClient(credentials: CredentialChain(environment: environment), endpoints: AWSEndpoints(specEndpoint: settings.spec.aws.endpoint.flatMap(URL.init(string:)), environment: environment),
                                   logger: logger)
            let deployment = RDSDeployment(spec: settings.spec, client: client)
            handler = switch settings.kind {
            case .lagMonitor: LagMonitor(settings: settings, deployment: deployment, logger: logger)
            case .failover: FailoverFunction(settings: settings, deployment: deployment, logger: logger)
            }
        } catch {
            let failure = error as? FunctionError ?? FunctionError(type: "pgdr.Init", message: "\(error)")
            logger.critical("init failed", metadata: ["error": "\(failure)"])
            try? await api.initFailed(failure)
            return 1
        }
        do {
            try await RuntimeLoop.run(api, handler: handler, logger: logger, limit: limit)
            return 0
        } catch {
            logger.critical("the Runtime API failed", metadata: ["error": "\(error)"])
            return 1
        }
    }
}
