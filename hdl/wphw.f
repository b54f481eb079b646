# wphw HDL file list: read by every simulator run (sim/common.py), by bench/ and by yosys.
# One path per line, relative to this file's directory; "+incdir+" lines add include dirs.
# Part B: append wp_chacha20.v / wp_ids.v (and their helpers) in the marked section below.
+incdir+include
wp_fifo.v
wp_axil_regs.v
wp_axil_split.v
wp_hdr_parse.v
wp_axis_reg.v
wp_pe_out.v
wp_axis_arb.v
wp_fw.v
wp_nat.v
wp_waypoint.v
wrap/wp_waypoint_sume.v
# ---- part B ----
wp_chacha20_fifo.v
wp_chacha20_core.v
wp_chacha20.v
wp_ids.v
