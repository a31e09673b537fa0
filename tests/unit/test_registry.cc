// The problem registry (format/era_problem.h): one table of ids, tags,
// severities, structures, next steps and texts.
#include <gtest/gtest.h>
#include <set>
#include <string>
#include "shim.h"

TEST(Registry, EveryIdHasItsOwnEntry)
{
	for (int id = 0; id < ERA_P_COUNT; id++) {
		const era_problem_def *d = era_problem_info((era_problem_id)id);
		ASSERT_NE(d, nullptr);
		EXPECT_EQ(d->id, id) << "the table is indexed by id";
		ASSERT_NE(d->tag, nullptr);
		EXPECT_GT(strlen(d->tag), 2u) << id;
		ASSERT_NE(d->text, nullptr);
		EXPECT_GT(strlen(d->text), 10u) << id;
		EXPECT_TRUE(d->severity == ERA_SEV_FATAL || d->severity == ERA_SEV_NONFATAL ||
			    d->severity == ERA_SEV_INFO) << id;
		EXPECT_STRNE(era_problem_structure((era_problem_id)id), "") << id;
	}
}

TEST(Registry, TagsAreUniqueAndMachineFriendly)
{
	std::set<std::string> seen;
	for (int id = 0; id < ERA_P_COUNT; id++) {
		std::string tag = era_problem_info((era_problem_id)id)->tag;
		EXPECT_TRUE(seen.insert(tag).second) << "tag " << tag << " twice";
		for (char c : tag)
			EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << tag;
	}
	EXPECT_EQ(seen.size(), (size_t)ERA_P_COUNT);
}

TEST(Registry, SeveritiesThatDecideExitStatuses)
{
	// what decides era_check's exit status: these must not drift
	EXPECT_EQ(era_problem_info(ERA_P_SB)->severity, ERA_SEV_FATAL);
	EXPECT_EQ(era_problem_info(ERA_P_ERA_FUTURE)->severity, ERA_SEV_FATAL);
	EXPECT_EQ(era_problem_info(ERA_P_DIGEST_UNSAFE)->severity, ERA_SEV_FATAL);
	EXPECT_EQ(era_problem_info(ERA_P_SM_MISSING)->severity, ERA_SEV_FATAL);
	EXPECT_EQ(era_problem_info(ERA_P_SM_LEAK)->severity, ERA_SEV_NONFATAL);
	EXPECT_EQ(era_problem_info(ERA_P_SM_NR_FREE)->severity, ERA_SEV_NONFATAL);
	EXPECT_EQ(era_problem_info(ERA_P_WS_NR_BITS)->severity, ERA_SEV_INFO);
	EXPECT_EQ(era_problem_info(ERA_P_ERA_UNDIGESTED)->severity, ERA_SEV_INFO);
	EXPECT_STREQ(era_problem_info(ERA_P_DIGEST_UNSAFE)->tag, "digest_unsafe");
	EXPECT_STREQ(era_problem_info(ERA_P_SM_LEAK)->tag, "space_map_leak");
}

TEST(Registry, SeverityNames)
{
	EXPECT_STREQ(era_severity_name(ERA_SEV_FATAL), "error");
	EXPECT_STREQ(era_severity_name(ERA_SEV_NONFATAL), "non-fatal error");
	EXPECT_STREQ(era_severity_name(ERA_SEV_INFO), "note");
}

TEST(Registry, OutOfRangeIdGivesAnEntryNotACrash)
{
	const era_problem_def *d = era_problem_info((era_problem_id)ERA_P_COUNT);
	ASSERT_NE(d, nullptr);
	EXPECT_EQ(d->severity, ERA_SEV_FATAL);  // unknown is never taken lightly
	d = era_problem_info((era_problem_id)-1);
	ASSERT_NE(d, nullptr);
}

TEST(Registry, StructuresByFamily)
{
	for (era_problem_id id : {ERA_P_SM, ERA_P_SM_MISSING, ERA_P_SM_LEAK, ERA_P_SM_NR_ALLOCATED, ERA_P_SM_NR_FREE})
		EXPECT_STREQ(era_problem_structure(id), "space map") << id;
	for (era_problem_id id : {ERA_P_WS_ERA_FUTURE, ERA_P_WS_BITSET, ERA_P_WS_TOO_LARGE, ERA_P_WS_NR_BITS})
		EXPECT_STREQ(era_problem_structure(id), "writeset") << id;
	EXPECT_STREQ(era_problem_structure(ERA_P_SB), "superblock");
	EXPECT_STREQ(era_problem_structure(ERA_P_WS_TREE), "writeset tree");
}

TEST(Registry, NextStepFollowsSeverity)
{
	// a note asks for nothing, a non-fatal finding for an optional repair, an
	// error for a repair (or a restore when nothing can be copied)
	for (int id = 0; id < ERA_P_COUNT; id++) {
		const era_problem_def *d = era_problem_info((era_problem_id)id);
		switch (d->severity) {
		case ERA_SEV_INFO: EXPECT_EQ(d->next, ERA_NEXT_NONE) << d->tag; break;
		case ERA_SEV_NONFATAL: EXPECT_EQ(d->next, ERA_NEXT_REPAIR_OPTIONAL) << d->tag; break;
		case ERA_SEV_FATAL: EXPECT_GE(d->next, ERA_NEXT_REPAIR) << d->tag; break;
		}
	}
	EXPECT_EQ(era_problem_info(ERA_P_SB)->next, ERA_NEXT_RESTORE);
	EXPECT_EQ(era_problem_info(ERA_P_DIGEST_UNSAFE)->next, ERA_NEXT_REPAIR);
}

TEST(Registry, NextStepTextNamesTheMetadataAndTheCommand)
{
	char buf[400];
	EXPECT_EQ(era_next_step_text(ERA_NEXT_NONE, "/dev/x", buf, sizeof(buf)), nullptr);
	std::string t = era_next_step_text(ERA_NEXT_REPAIR, "/dev/meta", buf, sizeof(buf));
	EXPECT_NE(t.find("era_repair -i /dev/meta -o NEW_DEVICE"), std::string::npos) << t;
	EXPECT_NE(t.find("do not activate"), std::string::npos) << t;
	t = era_next_step_text(ERA_NEXT_REPAIR_OPTIONAL, "m.img", buf, sizeof(buf));
	EXPECT_NE(t.find("can be used"), std::string::npos) << t;
	EXPECT_NE(t.find("era_repair -i m.img"), std::string::npos) << t;
	t = era_next_step_text(ERA_NEXT_RESTORE, "m.img", buf, sizeof(buf));
	EXPECT_NE(t.find("era_restore -i BACKUP.xml"), std::string::npos) << t;
}
