#: options: {"context_tokens": 120, "max_new_tokens": 16}
#: mode: "single-line"
#: model: "value_13 * 2\n"
#: text: "value_13 * 2"
#: prompt-contains: "value_12 = 12\nvalue_13 = 13\ntotal = "
value_00 = 0
value_01 = 1
value_02 = 2
value_03 = 3
value_04 = 4
value_05 = 5
value_06 = 6
value_07 = 7
value_08 = 8
value_09 = 9
value_10 = 10
value_11 = 11
value_12 = 12
value_13 = 13
total = █
