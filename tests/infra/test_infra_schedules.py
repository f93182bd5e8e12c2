"""Schedules: EventBridge Scheduler in the topology's time zone, with an invoke-only role."""

from __future__ import annotations

from tests.infra.infra_support import SMALL_TOPOLOGY, Synthesized, as_list, referenced_ids


def test_each_schedule_invokes_its_function_in_its_time_zone(small_synth: Synthesized) -> None:
    """Given a function with a schedule / When synthesized / Then a Scheduler schedule targets it."""
    schedules = small_synth.of_type("AWS::Scheduler::Schedule")
    expected = [(fn, s) for fn in SMALL_TOPOLOGY.functions for s in fn.schedules]
    assert len(schedules) == len(expected) == 1
    for fn, schedule in expected:
        fn_id = small_synth.logical_id(small_synth.stack.compute.functions[fn.name])
        (props,) = [p for p in schedules.values() if p["Target"]["Arn"] == {"Fn::GetAtt": [fn_id, "Arn"]}]
        assert props["ScheduleExpression"] == schedule.expression
        assert props["ScheduleExpressionTimezone"] == schedule.timezone
        assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert props["State"] == "ENABLED"
        role_id = small_synth.logical_id(small_synth.stack.compute.scheduler_roles[fn.name])
        assert props["Target"]["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_scheduler_role_may_only_invoke_its_function(small_synth: Synthesized) -> None:
    """Given the scheduler role / Then it trusts scheduler.amazonaws.com and can invoke one function."""
    for fn in (f for f in SMALL_TOPOLOGY.functions if f.schedules):
        role = small_synth.stack.compute.scheduler_roles[fn.name]
        role_id = small_synth.logical_id(role)
        trust = small_synth.properties(role)["AssumeRolePolicyDocument"]["Statement"]
        assert [s["Principal"] for s in trust] == [{"Service": "scheduler.amazonaws.com"}]
        assert "aws:SourceAccount" in trust[0]["Condition"]["StringEquals"]

        statements = small_synth.role_statements(role_id)
        fn_id = small_synth.logical_id(small_synth.stack.compute.functions[fn.name])
        assert [as_list(s["Action"]) for s in statements] == [["lambda:InvokeFunction"]]
        assert statements[0]["Resource"] == {"Fn::GetAtt": [fn_id, "Arn"]}
        assert referenced_ids(statements[0]) == {fn_id}
