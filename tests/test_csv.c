/*
 * test_csv.c - the CSV reader on the files real users have: RFC 4180
 * quoting, header names, columns picked by name, class-name targets.
 *
 * The files in tests/fixtures/csv were written by Python's csv module
 * (make_fixtures_csv.py), and csv_fixtures.h holds what Python's csv module
 * reads back from them (header, cells as numbers, classes sorted as
 * LabelEncoder sorts them), so deepc is checked against the reference reader
 * on quoted delimiters, "" quotes, line ends inside quotes, a BOM, CRLF and
 * R's write.csv layout.  Smaller cases and every error path are texts in
 * memory; the older numeric rules are in test_tabular.c.
 */
#include "testutil.h"
#include "fixtures/csv_fixtures.h"

#include <stdio.h>
#include <string.h>

static dc_status parse_ex(const char *text, const dc_csv_config *cfg, dc_tensor **x, dc_tensor **y, dc_csv_info *info)
{
    return dc_csv_parse_ex(text, strlen(text), "t.csv", cfg, x, y, info);
}

static void fixture_path(char *buf, size_t cap, const char *file)
{
    snprintf(buf, cap, "%s/csv/%s", DEEPC_FIXTURES, file);
}

static void assert_names(char *const *got, int n_got, const char *const *want, int n_want)
{
    assert_int_equal(n_got, n_want);
    for (int i = 0; i < n_want; i++)
        assert_string_equal(got[i], want[i]);
}

static void free_all(dc_tensor *x, dc_tensor *y, dc_csv_info *info)
{
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_csv_info_free(info);
}

/* Each file Python wrote reads as Python's csv module reads it. */
static void test_csv_python_files(void **state)
{
    (void)state;
    for (int f = 0; f < FX_N_CSV; f++) {
        const fx_csv *fx = fx_csv_files[f];
        char path[512];
        fixture_path(path, sizeof path, fx->file);
        dc_csv_config c = dc_csv_defaults();
        c.target_name = fx->target;
        c.feature_names = fx->features;
        c.n_feature_names = fx->n_features;
        c.target_classes = 1;
        dc_tensor *x, *y;
        dc_csv_info info;
        if (dc_csv_load_ex(path, &c, &x, &y, &info) != DC_OK)
            fail_msg("%s: %s", fx->file, dc_errmsg());
        assert_int_equal(info.n_columns, fx->cols);
        assert_names(info.column_names, info.n_column_names, fx->header, fx->cols);
        assert_names(info.class_names, info.n_classes, fx->classes, fx->n_classes);
        assert_int_equal(info.n_feature_cols, fx->n_features);
        for (int j = 0; j < fx->n_features; j++)
            assert_string_equal(info.column_names[info.feature_cols[j]], fx->features[j]);
        assert_string_equal(info.column_names[info.target_col], fx->target);
        assert_int_equal(x->shape[0], fx->rows);
        assert_int_equal(x->shape[1], fx->n_features);
        assert_int_equal(y->shape[0], fx->rows);
        assert_int_equal(y->shape[1], 1);
        assert_memory_equal(x->data, fx->x, x->size * sizeof(float));
        assert_memory_equal(y->data, fx->y, y->size * sizeof(float));
        free_all(x, y, &info);
    }
}

/* R's row names are quoted numbers ("1"), and a quoted number is a number;
 * the old entry point reads the same file. */
static void test_csv_quoted_numbers(void **state)
{
    (void)state;
    char path[512];
    fixture_path(path, sizeof path, "iris.csv");
    dc_csv_config c = dc_csv_defaults();
    c.feature_cols = (const int[]){0, 4};
    c.n_feature_cols = 2;
    c.target_col = DC_CSV_NO_TARGET;
    dc_tensor *x;
    assert_int_equal(dc_csv_load(path, &c, &x, NULL), DC_OK);
    assert_int_equal(x->shape[0], 150);
    for (int i = 0; i < 150; i++)
        assert_true(x->data[2 * i] == (float)(i + 1));
    assert_true(x->data[1] == fx_iris_x[3] && x->data[299] == fx_iris_x[599]);
    dc_tensor_free(x);
    /* The default target (the last column, text) says how to read it. */
    assert_int_equal(dc_csv_load(path, NULL, &x, (dc_tensor *[]){NULL}), DC_ERR_FORMAT);
    assert_errmsg_contains("line 2, column 6: \"setosa\" is not a number (column \"Species\")");
    assert_errmsg_contains("set target_classes = 1");
}

static void test_csv_quoting_rules(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    dc_csv_info info;
    dc_csv_config c = dc_csv_defaults();
    /* Delimiters, "" and line ends inside quotes; blanks around quotes;
     * blanks inside quotes kept; a BOM; CRLF and lone CR line ends. */
    assert_int_equal(parse_ex("\xEF\xBB\xBF"
                              "a,\"b,c\", \"say \"\"hi\"\"\" ,\"two\r\nlines\"\r\n"
                              " \"1\" ,\"2.5\",3,\"-4e1\"\r"
                              "5,6,\"7\",8\n",
                              &c, &x, &y, &info),
              DC_OK);
    assert_names(info.column_names, info.n_column_names,
                 (const char *const[]){"a", "b,c", "say \"hi\"", "two\r\nlines"}, 4);
    assert_int_equal(x->shape[0], 2);
    const float wx[] = {1, 2.5f, 3, 5, 6, 7}, wy[] = {-40, 8};
    assert_memory_equal(x->data, wx, sizeof wx);
    assert_memory_equal(y->data, wy, sizeof wy);
    free_all(x, y, &info);
    /* A blank line inside quotes is data; outside it is skipped. */
    assert_int_equal(parse_ex("\"x\n\n y\",t\n\n1,2\n", &c, &x, &y, &info), DC_OK);
    assert_string_equal(info.column_names[0], "x\n\n y");
    assert_int_equal(x->shape[0], 1);
    free_all(x, y, &info);
    /* Whitespace-delimited and tab-delimited files quote too. */
    c.delimiter = ' ';
    assert_int_equal(parse_ex("  \"a b\"   c \"\"\"d\"\"\"\n1 \"2\"\t3\n", &c, &x, &y, &info), DC_OK);
    assert_names(info.column_names, info.n_column_names, (const char *const[]){"a b", "c", "\"d\""}, 3);
    assert_true(x->data[0] == 1 && x->data[1] == 2 && y->data[0] == 3);
    free_all(x, y, &info);
    c.delimiter = '\t';
    assert_int_equal(parse_ex("\"a\tb\"\t c \n1\t\" 2\"\n", &c, &x, &y, &info), DC_OK);
    assert_names(info.column_names, info.n_column_names, (const char *const[]){"a\tb", "c"}, 2);
    assert_true(x->data[0] == 1 && y->data[0] == 2);
    free_all(x, y, &info);
    /* A quote inside an unquoted cell is data, as Python's csv reads it. */
    c = dc_csv_defaults();
    c.target_classes = 1;
    assert_int_equal(parse_ex("v,k\n1,5\"\n2,ab\"c\n", &c, &x, &y, &info), DC_OK);
    assert_names(info.class_names, info.n_classes, (const char *const[]){"5\"", "ab\"c"}, 2);
    free_all(x, y, &info);
    /* Without a header there are no names; a header-only BOM file has no rows. */
    c = dc_csv_defaults();
    c.header = 0;
    assert_int_equal(parse_ex("\"1\",2\n", &c, &x, &y, &info), DC_OK);
    assert_null(info.column_names);
    assert_int_equal(info.n_column_names, 0);
    assert_int_equal(info.target_col, 1);
    free_all(x, y, &info);
}

static void expect_error(const char *text, const dc_csv_config *cfg, dc_status st, const char *needle)
{
    dc_tensor *x = (dc_tensor *)1, *y = (dc_tensor *)1;
    dc_csv_info info;
    memset(&info, 0xA5, sizeof info); /* zeroed on failure */
    assert_int_equal(parse_ex(text, cfg, &x, &y, &info), st);
    assert_null(x);
    assert_null(y);
    assert_null(info.column_names);
    assert_null(info.class_names);
    assert_null(info.feature_cols);
    assert_errmsg_contains("t.csv");
    assert_errmsg_contains(needle);
}

static void test_csv_quoting_errors(void **state)
{
    (void)state;
    expect_error("a,b\n1,\"2\n3,4\n", NULL, DC_ERR_FORMAT, "line 2, column 2: the quoted cell is never closed");
    expect_error("\"a,b\n", NULL, DC_ERR_FORMAT, "line 1, column 1: the quoted cell is never closed");
    expect_error("a,b\n1,\"2\"x\n", NULL, DC_ERR_FORMAT, "line 2, column 2: text after the closing quote: \"x\"");
    expect_error("a,b\n\"1\" 5,2\n", NULL, DC_ERR_FORMAT, "line 2, column 1: text after the closing quote: \"5\"");
    expect_error("a,b\n1,\"x\ny\"z\n", NULL, DC_ERR_FORMAT,
                 "line 3, column 2: text after the closing quote: \"z\"; the quoted cell began on line 2");
    /* A stray quote swallows the next line break: the error shows where. */
    expect_error("a,b\n1,\"2\n3,4\"5\n", NULL, DC_ERR_FORMAT, "line 3, column 2: text after the closing quote");
    dc_csv_config c = dc_csv_defaults();
    c.delimiter = ' ';
    expect_error("a b\n\"1\"2 3\n", &c, DC_ERR_FORMAT, "line 2, column 1: text after the closing quote: \"2\"");
    char nul[] = "a,b\n\"1\0002\",3\n";
    dc_tensor *x;
    assert_int_equal(dc_csv_parse(nul, sizeof nul - 1, "t.csv", NULL, &x, (dc_tensor *[]){NULL}), DC_ERR_FORMAT);
    assert_errmsg_contains("line 2 contains a NUL byte");
    /* Quoted cells obey the numeric rules. */
    expect_error("a,b\n\"\",1\n", NULL, DC_ERR_FORMAT, "line 2, column 1: missing value (empty cell)");
    expect_error("a,b\n\"NA\",1\n", NULL, DC_ERR_FORMAT, "line 2, column 1: missing value (\"NA\")");
    expect_error("a,b\n\"1,5\",1\n", NULL, DC_ERR_FORMAT, "line 2, column 1: \"1,5\" is not a number (column \"a\")");
    expect_error("a,b\n\"x\ny\",1\n", NULL, DC_ERR_FORMAT, "line 2, column 1: \"x\ny\" is not a number");
    expect_error("a,b\nsetosa,1\n", NULL, DC_ERR_FORMAT, "leave text columns out with feature_cols or feature_names");
    expect_error("a,b\n1,\"1e39\"\n", NULL, DC_ERR_RANGE, "line 2, column 2: 1e39 is not a finite float32 value");
}

/* Columns left out are not read: text and missing values there are fine. */
static void test_csv_unread_columns(void **state)
{
    (void)state;
    char path[512];
    fixture_path(path, sizeof path, "passengers.csv");
    dc_csv_config c = dc_csv_defaults();
    c.target_name = "Survived";
    c.feature_names = (const char *const[]){"Fare", "Pclass"};
    c.n_feature_names = 2;
    dc_tensor *x, *y;
    assert_int_equal(dc_csv_load(path, &c, &x, &y), DC_OK);
    const float wy[] = {0, 1, 1, 1, 0, 0, 1};
    assert_memory_equal(y->data, wy, sizeof wy);
    assert_true(x->data[0] == 7.25f && x->data[1] == 3 && x->data[13] == 2);
    free_all(x, y, NULL);
    /* Age is read when asked for: its empty cells are missing values. */
    c.feature_names = (const char *const[]){"Fare", "Age"};
    assert_int_equal(dc_csv_load(path, &c, &x, &y), DC_ERR_FORMAT);
    assert_errmsg_contains("line 5, column 6: missing value (empty cell)");
    assert_null(x);
    assert_null(y);
}

static void test_csv_names(void **state)
{
    (void)state;
    const char *text = "id,\"petal width\",sepal,species\n7,0.5,1.5,2\n8,2.5,3.5,1\n";
    dc_tensor *x, *y;
    dc_csv_info info;
    dc_csv_config c = dc_csv_defaults();
    c.target_col = 0; /* overridden by target_name */
    c.target_name = "sepal";
    c.feature_names = (const char *const[]){"species", "petal width"};
    c.n_feature_names = 2;
    assert_int_equal(parse_ex(text, &c, &x, &y, &info), DC_OK);
    const float wx[] = {2, 0.5f, 1, 2.5f}, wy[] = {1.5f, 3.5f};
    assert_memory_equal(x->data, wx, sizeof wx);
    assert_memory_equal(y->data, wy, sizeof wy);
    assert_int_equal(info.target_col, 2);
    assert_int_equal(info.n_feature_cols, 2);
    assert_true(info.feature_cols[0] == 3 && info.feature_cols[1] == 1);
    assert_null(info.class_names);
    assert_int_equal(info.n_classes, 0);
    free_all(x, y, &info);
    /* By index, info says which columns were taken. */
    assert_int_equal(parse_ex(text, NULL, &x, &y, &info), DC_OK);
    assert_int_equal(info.target_col, 3);
    assert_true(info.n_feature_cols == 3 && info.feature_cols[0] == 0 && info.feature_cols[2] == 2);
    free_all(x, y, &info);

    c.target_name = "Sepal";
    expect_error(text, &c, DC_ERR_ARG,
                 "target_name: no column named \"Sepal\" (did you mean \"sepal\"?); the columns are \"id\", "
                 "\"petal width\", \"sepal\", \"species\"");
    c.target_name = "sepal";
    c.feature_names = (const char *const[]){"id", "petal_width"};
    expect_error(text, &c, DC_ERR_ARG, "feature_names[1]: no column named \"petal_width\"; the columns are \"id\"");
    expect_error("a,b,a\n1,2,3\n", &(dc_csv_config){.delimiter = ',', .header = 1, .target_name = "a"}, DC_ERR_FORMAT,
                 "target_name \"a\" names two columns, 0 and 2");
    expect_error("a,b\n1,2,3\n", &(dc_csv_config){.delimiter = ',', .header = 1, .target_name = "b"}, DC_ERR_FORMAT,
                 "the header (line 1) has 2 name(s) but the rows have 3 column(s) (line 2)");
    c = dc_csv_defaults();
    c.header = 0;
    c.target_name = "b";
    expect_error("1,2\n", &c, DC_ERR_ARG, "\"b\" picks a column by name, but header is 0");
    c = dc_csv_defaults();
    c.feature_cols = (const int[]){0};
    c.n_feature_cols = 1;
    c.feature_names = (const char *const[]){"a"};
    c.n_feature_names = 1;
    expect_error("a,b\n1,2\n", &c, DC_ERR_ARG, "both feature_cols and feature_names");
    c.feature_cols = NULL;
    c.n_feature_names = 0;
    expect_error("a,b\n1,2\n", &c, DC_ERR_ARG, "feature_names given with n_feature_names 0");
    c.feature_names = (const char *const[]){"a", NULL};
    c.n_feature_names = 2;
    expect_error("a,b\n1,2\n", &c, DC_ERR_ARG, "feature_names[1] is NULL");
    c = dc_csv_defaults();
    c.target_name = "b";
    assert_int_equal(dc_csv_parse_ex("a,b\n1,2\n", 8, "t.csv", &c, &x, NULL, NULL), DC_ERR_ARG);
    assert_errmsg_contains("y is NULL but target_name is \"b\"");
    /* A long list of columns is shortened to fit the message. */
    char wide[4096] = "";
    for (int i = 0; i < 200; i++)
        snprintf(wide + strlen(wide), sizeof wide - strlen(wide), "%scolumn_%03d", i ? "," : "", i);
    strcat(wide, "\n");
    for (int i = 0; i < 200; i++)
        strcat(wide, i ? ",1" : "1");
    strcat(wide, "\n");
    c.target_name = "nope";
    expect_error(wide, &c, DC_ERR_ARG, "more)");
    assert_errmsg_contains("\"column_000\", \"column_001\"");
}

static void expect_classes(const char *text, const char *const *want, int k, const float *wy, int rows)
{
    dc_csv_config c = dc_csv_defaults();
    c.target_classes = 1;
    dc_tensor *x, *y;
    dc_csv_info info;
    if (parse_ex(text, &c, &x, &y, &info) != DC_OK)
        fail_msg("%s", dc_errmsg());
    assert_names(info.class_names, info.n_classes, want, k);
    assert_int_equal(y->shape[0], rows);
    assert_memory_equal(y->data, wy, (size_t)rows * sizeof(float));
    free_all(x, y, &info);
}

static void test_csv_classes(void **state)
{
    (void)state;
    /* Text sorts bytewise (code points), as np.unique sorts str. */
    expect_classes("v,k\n1,b\n2,\"\xC3\xA9t\xC3\xA9\"\n3,B\n4,b\n5,a b\n", (const char *const[]){"B", "a b", "b", "\xC3\xA9t\xC3\xA9"},
                   4, (const float[]){2, 3, 0, 2, 1}, 5);
    /* All numbers: numeric order (pandas reads the column as numbers), and
     * "1" and "1.0" are one class, named by its first spelling in order. */
    expect_classes("v,k\n1,10\n2,9\n3,1.0\n4,1\n5,-2\n", (const char *const[]){"-2", "1", "9", "10"}, 4,
                   (const float[]){3, 2, 1, 1, 0}, 5);
    /* Numbers among text: all are text. */
    expect_classes("v,k\n1,10\n2,9\n3,x\n", (const char *const[]){"10", "9", "x"}, 3, (const float[]){0, 1, 2}, 3);

    /* Given classes fix the indices, e.g. a training file's for a test file. */
    dc_csv_config c = dc_csv_defaults();
    c.target_classes = 1;
    c.class_names = (const char *const[]){"virginica", "setosa", "versicolor"};
    c.n_class_names = 3;
    dc_tensor *x, *y;
    dc_csv_info info;
    assert_int_equal(parse_ex("v,k\n1,setosa\n2,virginica\n3,setosa\n", &c, &x, &y, &info), DC_OK);
    const float wy[] = {1, 0, 1};
    assert_memory_equal(y->data, wy, sizeof wy);
    assert_names(info.class_names, info.n_classes, c.class_names, 3);
    free_all(x, y, &info);
    /* Without info the encoding is the same. */
    c.class_names = NULL;
    assert_int_equal(parse_ex("v,k\n1,b\n2,a\n", &c, &x, &y, NULL), DC_OK);
    assert_true(y->data[0] == 1 && y->data[1] == 0);
    free_all(x, y, NULL);

    c.class_names = (const char *const[]){"setosa", "versicolor"};
    c.n_class_names = 2;
    expect_error("v,k\n1,setosa\n\n2,\"virginica\"\n", &c, DC_ERR_FORMAT,
                 "line 4, column 2: class \"virginica\" is not one of the 2 class_names given (\"setosa\", "
                 "\"versicolor\")");
    c.class_names = (const char *const[]){"a", "b", "a"};
    c.n_class_names = 3;
    expect_error("v,k\n1,a\n", &c, DC_ERR_ARG, "class_names[0] and class_names[2] are both \"a\"");
    c.class_names = (const char *const[]){"a", NULL};
    c.n_class_names = 2;
    expect_error("v,k\n1,a\n", &c, DC_ERR_ARG, "class_names[1] is NULL");
    c.n_class_names = 0;
    expect_error("v,k\n1,a\n", &c, DC_ERR_ARG, "class_names given with n_class_names 0");
    c = dc_csv_defaults();
    c.target_classes = 1;
    expect_error("v,k\n1,a\n2,\n", &c, DC_ERR_FORMAT, "line 3, column 2: missing value (empty cell)");
    expect_error("v,k\n1,a\n2,\"N/A\"\n", &c, DC_ERR_FORMAT, "line 3, column 2: missing value (\"N/A\")");
    c.feature_cols = (const int[]){0, 1};
    c.n_feature_cols = 2;
    expect_error("v,k\n1,a\n", &c, DC_ERR_ARG, "column 1 (column \"k\") is the target, read as class labels, so it "
                                               "cannot also be feature 1");
    c = dc_csv_defaults();
    c.target_classes = 1;
    c.target_col = DC_CSV_NO_TARGET;
    expect_error("v,k\n1,a\n", &c, DC_ERR_ARG, "target_classes is set but there is no target column");
    c = dc_csv_defaults();
    c.class_names = (const char *const[]){"a"};
    c.n_class_names = 1;
    expect_error("v,k\n1,a\n", &c, DC_ERR_ARG, "class_names given but target_classes is 0");
}

static void test_csv_info_free(void **state)
{
    (void)state;
    dc_csv_info_free(NULL);
    dc_csv_info info = {0};
    dc_csv_info_free(&info);
    dc_tensor *x, *y;
    dc_csv_config c = dc_csv_defaults();
    c.target_classes = 1;
    assert_int_equal(parse_ex("a,b\n1,u\n", &c, &x, &y, &info), DC_OK);
    dc_csv_info_free(&info);
    assert_null(info.column_names);
    assert_int_equal(info.n_classes, 0);
    dc_csv_info_free(&info); /* zeroed: nothing left to free */
    free_all(x, y, NULL);
    /* A missing file zeroes info and the outputs. */
    memset(&info, 0xA5, sizeof info);
    x = y = (dc_tensor *)1;
    assert_int_equal(dc_csv_load_ex("/nonexistent/dir/t.csv", NULL, &x, &y, &info), DC_ERR_IO);
    assert_null(x);
    assert_null(y);
    assert_null(info.column_names);
    assert_null(info.feature_cols);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_python_files),  cmocka_unit_test(test_csv_quoted_numbers),
        cmocka_unit_test(test_csv_quoting_rules), cmocka_unit_test(test_csv_quoting_errors),
        cmocka_unit_test(test_csv_unread_columns), cmocka_unit_test(test_csv_names),
        cmocka_unit_test(test_csv_classes),       cmocka_unit_test(test_csv_info_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
