/// The deployment the AWS tests use: `orders-prod`, RDS in us-east-1 and
/// us-east-2 (the names moto_bed.py and deploy_bed.py make). Each test adds
/// its own keys (dns, aws, failover) after these lines.
enum AWSTestSpec {
    static let base = """
        name: orders
        environment: prod
        target: aws
        objectives: {rpo: 1m, rto: 5m}
        engine: {version: "15"}
        primary: {region: us-east-1, instanceClass: db.r6g.large}
        dr: {region: us-east-2, instanceClass: db.r6g.large}
        """
}
