"""Staff performance (员工绩效) and incentives (奖惩): one row per measured fact of a staff
member — a visit or call, a follow-up done on time or late, an opportunity advanced or won,
a first response within its SLA or late, a satisfaction rating of a case they served, an
incident on a shipment they booked — with the ISO week and month it falls in, in the time
zone of the staff member's branch; each fact the incentive rules give points for is a
proposed award or penalty, and each month without a breach or an incident a proposed
clean-month award; the managers' decisions on them (``writer``). Read per staff member and
branch, per week and month, as proposals, histories and rankings (``queries``). Tables:
``migration``."""
