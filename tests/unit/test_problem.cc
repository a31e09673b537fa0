// Problems in the user's terms (format/era_problem.c).
#include <gtest/gtest.h>
#include <string>
#include "shim.h"

TEST(ProblemStructure, EveryIdNamesAStructure)
{
	for (int id = 0; id < ERA_P_COUNT; id++)
		EXPECT_STRNE(era_problem_structure((enum era_problem_id)id), "metadata") << id;
	EXPECT_STREQ(era_problem_structure(ERA_P_ERA_ARRAY), "era array");
	EXPECT_STREQ(era_problem_structure(ERA_P_SM_LEAK), "space map");
}

TEST(ProblemStructure, WritesetNamedByItsEra)
{
	struct pd_err r = {};
	char buf[64];

	r.problem = ERA_P_WS_BITSET;
	EXPECT_STREQ(era_report_structure(&r, buf, sizeof(buf)), "writeset");
	r.has_key = 1;
	r.key = 8;
	EXPECT_STREQ(era_report_structure(&r, buf, sizeof(buf)), "writeset of era 8");
	r.problem = ERA_P_WS_TREE;  // the tree is not one writeset
	EXPECT_STREQ(era_report_structure(&r, buf, sizeof(buf)), "writeset tree");
	r.problem = ERA_P_ERA_ARRAY;
	EXPECT_STREQ(era_report_structure(&r, buf, sizeof(buf)), "era array");
}
