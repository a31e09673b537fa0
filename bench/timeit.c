/*
 * timeit - run a command, report its wall time and max RSS.
 *
 *   timeit [-p] [-r REPORT] -- COMMAND [ARG...]
 *
 * Writes "WALL_SECONDS MAXRSS_KB EXIT CPU_SECONDS" to the file REPORT
 * (default: stderr) when the command has ended; CPU is user + system time
 * of the command (less disturbed than wall time by other load).  With -p the command's stdout goes through a
 * pipe to `cat` (whose stdout is timeit's stdout) and the wall time runs until
 * both have exited.
 *
 * Why not time it from the Python harness: a child spawned by a big process
 * (vfork/fork then exec) inherits the parent's RSS high-water mark into its
 * ru_maxrss, so the harness's own size would show up as the tool's RSS.  This
 * helper is small, so the tool's figure is its own.  EXIT is the exit status,
 * or 128+signal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int pipe_to_cat = 0, i = 1;
	const char *report = NULL;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "-p") == 0)
			pipe_to_cat = 1;
		else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
			report = argv[++i];
		else
			break;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		fputs("usage: timeit [-p] [-r REPORT] -- COMMAND [ARG...]\n", stderr);
		return 2;
	}

	int fds[2] = { -1, -1 };
	if (pipe_to_cat && pipe(fds) != 0) {
		perror("timeit: pipe");
		return 2;
	}
	double t0 = now();
	pid_t cat = -1;
	if (pipe_to_cat) {
		cat = fork();
		if (cat == 0) {
			dup2(fds[0], 0);
			close(fds[0]);
			close(fds[1]);
			execlp("cat", "cat", (char *)NULL);
			_exit(127);
		}
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("timeit: fork");
		return 2;
	}
	if (pid == 0) {
		if (pipe_to_cat) {
			dup2(fds[1], 1);
			close(fds[0]);
			close(fds[1]);
		}
		execvp(argv[i], argv + i);
		fprintf(stderr, "timeit: %s: %s\n", argv[i], strerror(errno));
		_exit(127);
	}
	if (pipe_to_cat) {
		close(fds[0]);
		close(fds[1]);
	}
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			perror("timeit: wait4");
			return 2;
		}
	if (cat > 0)
		while (waitpid(cat, NULL, 0) < 0 && errno == EINTR)
			;
	double wall = now() - t0;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	FILE *rep = report ? fopen(report, "w") : stderr;
	if (!rep) {
		perror(report);
		return 2;
	}
	double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		     ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	fprintf(rep, "%.6f %ld %d %.6f\n", wall, ru.ru_maxrss, code, cpu);
	if (fclose(rep) != 0)
		return 2;
	return code;
}
