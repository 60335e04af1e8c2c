/*
 * test_thread_cap.c - the threads deepc hands OpenMP and OpenBLAS are capped
 * at the cores the machine has (issue: under `ulimit -v 600M`, fit with a
 * large thread count hung inside OpenBLAS's allocator, which sets a buffer
 * aside per thread it is told about).
 *
 * The cap itself is checked directly (openblas_get_num_threads after a fit
 * asked for 1000 threads); the reproducer, fit under a 600 MB address-space
 * limit, runs in a child process with an alarm, outside the sanitizer
 * builds (ASan reserves terabytes of address space and cannot run under
 * such a limit: the test says so when it skips).
 */
#include "iotest.h"

#include <cblas.h>
#include <omp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static dc_status fit_with_threads(int threads)
{
    dc_model *m = small_classifier(4, 3, 1);
    dc_tensor *x, *y;
    random_data(64, 4, 3, 2, &x, &y);
    dc_model_set_threads(m, threads);
    dc_fit_config fit = dc_fit_defaults();
    fit.epochs = 1;
    fit.verbose = 0;
    dc_status st = dc_model_fit(m, x, y, &fit, NULL);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_model_free(m);
    return st;
}

static void test_threads_are_capped(void **state)
{
    (void)state;
    assert_int_equal(fit_with_threads(1000), DC_OK);
    assert_true(openblas_get_num_threads() <= omp_get_num_procs());
    assert_true(omp_get_max_threads() <= omp_get_num_procs());
}

static void test_fit_under_an_address_space_limit(void **state)
{
    (void)state;
#ifdef UNDER_ASAN
    printf("[ SKIPPED  ] fit under ulimit -v 600M: not in a sanitizer build (ASan needs its shadow address space)\n");
#else
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit lim = {600u << 20, 600u << 20};
        alarm(60); /* a hang ends the child with SIGALRM */
        if (setrlimit(RLIMIT_AS, &lim) != 0)
            _exit(3);
        _exit(fit_with_threads(1000) == DC_OK ? 0 : 2);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("fit under a 600 MB address-space limit died with signal %d (SIGALRM %d: it hung)", WTERMSIG(status),
                 SIGALRM);
    assert_int_equal(WEXITSTATUS(status), 0);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_are_capped),
        cmocka_unit_test(test_fit_under_an_address_space_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
