import DRSpec

extension RegionStack {
    /// A VPC with private isolated subnets in two AZs, a security group that
    /// admits PostgreSQL only from the application range and the peer VPC,
    /// VPC endpoints so the functions need no NAT, and the peering route.
    mutating func addNetwork() {
        template.add("Vpc", CFResource("AWS::EC2::VPC", [
            "CidrBlock": .string(site.vpcCidr), "EnableDnsSupport": true, "EnableDnsHostnames": true, "Tags": tags,
        ]))
        for index in 0..<2 {
            template.add("PrivateSubnet\(index)", CFResource("AWS::EC2::Subnet", [
                "VpcId": .ref("Vpc"),
                "AvailabilityZone": .select(index, .getAZs("")),
                "CidrBlock": .select(index, .map(["Fn::Cidr": [.getAtt("Vpc", "CidrBlock"), 4, 8]])),
                "MapPublicIpOnLaunch": false,
                "Tags": tags,
            ]))
            template.add("PrivateSubnet\(index)Routes", CFResource("AWS::EC2::SubnetRouteTableAssociation", [
                "SubnetId": .ref("PrivateSubnet\(index)"), "RouteTableId": .ref("PrivateRouteTable"),
            ]))
        }
        template.add("PrivateRouteTable", CFResource("AWS::EC2::RouteTable", ["VpcId": .ref("Vpc"), "Tags": tags]))
        template.add("DatabaseSecurityGroup", CFResource("AWS::EC2::SecurityGroup", [
            "GroupDescription": .string("PostgreSQL from the application and the peer region only (\(name("db")))"),
            "VpcId": .ref("Vpc"),
            "SecurityGroupIngress": [
                ["IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "CidrIp": .string(spec.network.applicationCidr),
                 "Description": "application"],
                ["IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "CidrIp": .string(peer.vpcCidr),
                 "Description": "peer region"],
                ["IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "SourceSecurityGroupId": .ref("EndpointSecurityGroup"),
                 "Description": "pgdr functions and the secret's rotation"],
            ],
            "SecurityGroupEgress": [["IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": .string(site.vpcCidr),
                                     "Description": "AWS APIs through VPC endpoints"]],
            "Tags": tags,
        ]))
        template.add("EndpointSecurityGroup", CFResource("AWS::EC2::SecurityGroup", [
            "GroupDescription": .string("HTTPS to VPC endpoints from inside the VPC (\(name("endpoints")))"),
            "VpcId": .ref("Vpc"),
            "SecurityGroupIngress": [["IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": .string(site.vpcCidr),
                                      "Description": "VPC"]],
            "Tags": tags,
        ]))
        template.add("S3Endpoint", CFResource("AWS::EC2::VPCEndpoint", [
            "VpcId": .ref("Vpc"), "VpcEndpointType": "Gateway",
            "ServiceName": .sub("com.amazonaws.${AWS::Region}.s3"), "RouteTableIds": [.ref("PrivateRouteTable")],
        ]))
        for service in ["kms", "secretsmanager", "sns", "monitoring", "rds"] {
            template.add("Endpoint\(service.capitalized)", CFResource("AWS::EC2::VPCEndpoint", [
                "VpcId": .ref("Vpc"), "VpcEndpointType": "Interface", "PrivateDnsEnabled": true,
                "ServiceName": .sub("com.amazonaws.${AWS::Region}.\(service)"),
                "SubnetIds": [.ref("PrivateSubnet0"), .ref("PrivateSubnet1")],
                "SecurityGroupIds": [.ref("EndpointSecurityGroup")],
            ]))
        }
        template.add("DatabaseSubnetGroup", CFResource("AWS::RDS::DBSubnetGroup", [
            "DBSubnetGroupDescription": .string("pgdr \(name("db")) private subnets"),
            "SubnetIds": [.ref("PrivateSubnet0"), .ref("PrivateSubnet1")],
            "Tags": tags,
        ]))
        if role == .primary {
            // The requester side lives here; the DR stack adds its route once the
            // connection exists (deploy plan step 3).
            template.add("PeeringConnection", CFResource("AWS::EC2::VPCPeeringConnection", [
                "VpcId": .ref("Vpc"), "PeerVpcId": .ref("DrVpcId"), "PeerRegion": .string(peer.region), "Tags": tags,
            ], condition: "HasDrVpc"))
            template.add("PeerRoute", CFResource("AWS::EC2::Route", [
                "RouteTableId": .ref("PrivateRouteTable"), "DestinationCidrBlock": .string(peer.vpcCidr),
                "VpcPeeringConnectionId": .ref("PeeringConnection"),
            ], condition: "HasDrVpc"))
        } else {
            template.add("PeerRoute", CFResource("AWS::EC2::Route", [
                "RouteTableId": .ref("PrivateRouteTable"), "DestinationCidrBlock": .string(peer.vpcCidr),
                "VpcPeeringConnectionId": .ref("PeeringConnectionId"),
            ], condition: "HasPeering"))
        }
        template.outputs["VpcId"] = CFOutput(description: "VPC id", value: .ref("Vpc"), exportName: name("vpc"))
        if role == .primary {
            template.outputs["PeeringConnectionId"] = CFOutput(description: "VPC peering connection to the DR VPC",
                                                               value: .ref("PeeringConnection"), exportName: nil, condition: "HasDrVpc")
        }
    }
}
