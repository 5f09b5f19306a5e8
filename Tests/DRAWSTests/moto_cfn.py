#!/usr/bin/env python3
"""moto_server for `pgdr deploy` and `pgdr destroy`: moto 5.2's CloudFormation, with
the gaps that stop pgdr's real templates filled the way AWS documents them (each
patch below says what AWS does and what moto did). Nothing here makes moto accept
what AWS would refuse; it only does what AWS does where moto did nothing or failed.

  moto_cfn.py PORT      serves on 127.0.0.1:PORT, like `moto_server -H 127.0.0.1 -p PORT`.

Not modelled even so (say so, do not test it here): resource events (moto records
only the stack's own), rollbacks, the order CloudFormation creates resources in,
DeletionPolicy beyond Retain, Secrets Manager secrets, bucket and topic policies,
KMS key policies, and every property moto ignores.
"""
import os, signal, sys
signal.pthread_sigmask(signal.SIG_SETMASK, set())
os.nice(10)
import moto
print(f"moto_cfn.py: moto {moto.__version__}, Python {sys.version.split()[0]}", flush=True)
# AWS::KMS::Key Tags are Key/Value, as everywhere in CloudFormation; moto passed them to a
# tagger expecting TagKey/TagValue and answered HTTP 500.
from moto.kms import models as kms
_create_key = kms.KmsBackend.create_key
def create_key(self, policy, key_usage, key_spec, description, tags, *a, **k):
    tags = [{"TagKey": t.get("TagKey", t.get("Key")), "TagValue": t.get("TagValue", t.get("Value"))} for t in (tags or [])]
    return _create_key(self, policy, key_usage, key_spec, description, tags, *a, **k)
kms.KmsBackend.create_key = create_key
# Fn::Cidr, which moto does not evaluate: COUNT subnets of 2^BITS addresses, in order.
import ipaddress
from moto.cloudformation import parsing
_clean = parsing.clean_json
def clean_json(value, resources_map):
    if isinstance(value, dict) and "Fn::Cidr" in value:
        block, count, bits = [_clean(v, resources_map) for v in value["Fn::Cidr"]]
        network = ipaddress.ip_network(block)
        subnets = network.subnets(new_prefix=network.max_prefixlen - int(bits))
        return [str(next(subnets)) for _ in range(int(count))]
    return _clean(value, resources_map)
parsing.clean_json = clean_json
# A change set's template becomes the stack's: its outputs and exports. moto kept the
# template the stack was made with (none, for a CREATE change set): no outputs at all.
from moto.cloudformation import models as cfn
_apply = cfn.ChangeSet.apply
def apply(self):
    _apply(self)
    stack = self.stack
    stack.template = self.template
    stack._parse_template()
    stack.output_map = stack._create_output_map()
    exports = cfn.cloudformation_backends[stack.account_id][stack.region_name].exports
    for export in stack.exports:  # as CreateStack does: DeleteStack removes them again
        exports[export.name] = export
cfn.ChangeSet.apply = apply
# Ref of an AWS::RDS::DBParameterGroup is its name; moto gave the object.
from moto.rds import models as rds
rds.DBParameterGroup.physical_resource_id = property(lambda self: self.name)
# AWS::EC2::VPCPeeringConnection with PeerRegion: the peer VPC is in that region.
from moto.ec2.models import vpc_peering_connections as pcx
def peering_from_cloudformation(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    """AWS reads PeerRegion (and PeerOwnerId); moto looked for the peer VPC in the stack's region."""
    from moto.ec2.models import ec2_backends
    properties = cloudformation_json["Properties"]
    backend = ec2_backends[account_id][region_name]
    peer = ec2_backends[properties.get("PeerOwnerId", account_id)][properties.get("PeerRegion", region_name)]
    return backend.create_vpc_peering_connection(backend.get_vpc(properties["VpcId"]), peer.get_vpc(properties["PeerVpcId"]))
pcx.VPCPeeringConnection.create_from_cloudformation_json = classmethod(peering_from_cloudformation)
# Fn::GetAtt DBInstanceArn of an AWS::RDS::DBInstance.
_get_att = rds.DBInstance.get_cfn_attribute
def db_get_att(self, attribute_name):
    """AWS documents DBInstanceArn (and DbiResourceId) as return values of AWS::RDS::DBInstance."""
    if attribute_name == "DBInstanceArn":
        return self.db_instance_arn
    if attribute_name == "DbiResourceId":
        return self.dbi_resource_id
    return _get_att(self, attribute_name)
rds.DBInstance.get_cfn_attribute = db_get_att
rds.DBInstance.has_cfn_attr = classmethod(lambda cls, attr: attr in ["Endpoint.Address", "Endpoint.Port", "DBInstanceArn", "DbiResourceId"])
# A cross-region read replica in the region asked, with that region's subnet group.
import copy
def create_replica(self, db_kwargs):
    """AWS creates the replica in the region asked, with that region's subnet group; moto set the
    backend after the subnet group, so it looked the group up in the source's region."""
    primary = self.find_db_from_id(db_kwargs["source_db_instance_identifier"])
    replica = copy.copy(primary)
    replica.backend = self
    db_kwargs.pop("backend", None)
    replica.update(**db_kwargs)
    replica.set_as_replica()
    self.databases[db_kwargs["db_instance_identifier"]] = replica
    primary.add_replica(replica)
    return replica
rds.RDSBackend.create_db_instance_read_replica = create_replica
# Stack updates that flip a Condition.
_update = parsing.ResourceMap.update
def update(self, template, parameters=None):
    """AWS adds a resource whose Condition turned true on an update, and removes one whose turned
    false; moto diffed the resource JSON only, so a parameter that flips a condition did nothing."""
    old_resources, old_parameters, old_template = self._resource_json_map, self.input_parameters, self._template
    self._template, self._resource_json_map = template, template["Resources"]
    if parameters:
        self.input_parameters = parameters
    self.load_mapping(); self.load_parameters(); self.load_conditions()
    added = {}
    for name, resource in template["Resources"].items():
        condition = resource.get("Condition")
        if condition and self.lazy_condition_map[condition] and name not in self._parsed_resources:
            added[name] = self[name]
    self._resource_json_map, self.input_parameters, self._template = old_resources, old_parameters, old_template
    _update(self, template, parameters)
    for name, created in added.items():  # just created: nothing to modify (moto's update of some types answers None)
        self._parsed_resources[name] = created
    for name, resource in template["Resources"].items():
        condition = resource.get("Condition")
        if condition and not self.lazy_condition_map[condition] and name in self._parsed_resources:
            self._delete_resource(self._parsed_resources.pop(name), resource)
parsing.ResourceMap.update = update
# AWS::CloudWatch::Alarm and CompositeAlarm.
from moto.core.common_models import CloudFormationModel
from moto.cloudwatch import models as cw
cw.Alarm.physical_resource_id = property(lambda self: self.name)
cw.Alarm.has_cfn_attr = classmethod(lambda cls, attr: attr == "Arn")
cw.Alarm.get_cfn_attribute = lambda self, attr: self.alarm_arn
class _AlarmResource:
    """AWS::CloudWatch::Alarm and CompositeAlarm, which moto's CloudFormation skipped: created
    through the same backend call as PutMetricAlarm / PutCompositeAlarm."""
    @classmethod
    def cloudformation_name_type(cls): return "AlarmName"
    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json["Properties"]
        return cw.cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=p.get("AlarmName") or resource_name, namespace=p.get("Namespace"), metric_name=p.get("MetricName"),
            comparison_operator=p.get("ComparisonOperator"), evaluation_periods=p.get("EvaluationPeriods"),
            period=p.get("Period"), threshold=p.get("Threshold"), statistic=p.get("Statistic"),
            description=p.get("AlarmDescription"), dimensions=p.get("Dimensions", []), alarm_actions=p.get("AlarmActions", []),
            ok_actions=p.get("OKActions", []), insufficient_data_actions=p.get("InsufficientDataActions", []),
            datapoints_to_alarm=p.get("DatapointsToAlarm"), treat_missing_data=p.get("TreatMissingData"),
            actions_enabled=p.get("ActionsEnabled", True), rule=p.get("AlarmRule"), tags=p.get("Tags", []))
    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        cls.delete_from_cloudformation_json(original_resource.name, cloudformation_json, account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        cw.cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])
class MetricAlarmResource(_AlarmResource, CloudFormationModel):
    __module__ = "moto.cloudwatch.models"
    @staticmethod
    def cloudformation_type(): return "AWS::CloudWatch::Alarm"
class CompositeAlarmResource(_AlarmResource, CloudFormationModel):
    __module__ = "moto.cloudwatch.models"
    @staticmethod
    def cloudformation_type(): return "AWS::CloudWatch::CompositeAlarm"
# Deleting a cross-region replica.
def remove_replica(self, replica):
    """A cross-region replica is listed by its ARN (add_replica); moto removed it by its name."""
    for name in (replica.db_instance_identifier, replica.db_instance_arn):
        if name in self.replicas:
            self.replicas.remove(name)
rds.DBInstance.remove_replica = remove_replica
# A deleted stack's outputs are not computed again: moto evaluated them on DescribeStacks of the
# deleted stack, and its lazy Refs created the resources again (a new VPC, the primary database).
_outputs = cfn.Stack.outputs.fget
cfn.Stack.outputs = property(lambda self: None if self.status == "DELETE_COMPLETE" else _outputs(self))

# Stack deletion: AWS deletes these with the stack; moto's CloudFormation left them behind, so
# the VPC "had dependencies" and the stack could not be deleted.
from moto.ec2.models import ec2_backends, route_tables, subnets, vpcs
def _gone_ok(delete):
    """Deleting what is already gone succeeds, as it does for CloudFormation."""
    def run(self, account_id, region_name):
        try:
            delete(self, account_id, region_name)
        except Exception as error:
            if not str(getattr(error, "code", "")).endswith("NotFound"):
                raise
    return run
def _delete_association(self, account_id, region_name):
    backend = ec2_backends[account_id][region_name]
    table = backend.get_route_table(self.route_table_id)
    for association, target in list(table._associations.items()):
        if target == self.subnet_id:
            table._associations.pop(association)
    backend.subnet_associations.pop(f"{self.route_table_id}:{self.subnet_id}", None)
subnets.SubnetRouteTableAssociation.delete = _gone_ok(_delete_association)
route_tables.RouteTable.delete = _gone_ok(lambda self, account_id, region_name: ec2_backends[account_id][region_name].delete_route_table(self.id))
route_tables.Route.delete = lambda self, account_id, region_name: self.route_table.routes.pop(self.id, None)
def _delete_endpoint(self, account_id, region_name):
    backend = ec2_backends[account_id][region_name]
    try:
        backend.delete_vpc_endpoints([self.id])
    finally:
        backend.vpc_end_points.pop(self.id, None)
vpcs.VPCEndPoint.delete = _gone_ok(_delete_endpoint)
pcx.VPCPeeringConnection.delete = _gone_ok(lambda self, account_id, region_name: ec2_backends[account_id][region_name].delete_vpc_peering_connection(self.id))
from moto.server import main
main(["-H", "127.0.0.1", "-p", sys.argv[1]])
