# wphw HDL file list: read by every simulator run (sim/common.py), by bench/ and by yosys.
# One path per line, relative to this file's directory; "+incdir+" lines add include dirs.
+incdir+include
wp_head_reg.v
wp_fifo.v
wp_ram_sdp.v
wp_axil_regs.v
wp_reg_arr.v
wp_reg_arr_q.v
wp_reg_rd.v
wp_reg_rd_or.v
wp_first_onehot.v
wp_reg_copies.v
wp_keep_count.v
wp_nsh_dec.v
wp_ipv4_dec.v
wp_axil_split.v
wp_hdr_parse.v
wp_axis_reg.v
wp_pe_out.v
wp_axis_arb.v
wp_prefix_dec.v
wp_prefix_mask.v
wp_fw.v
wp_nat.v
wp_waypoint.v
wrap/wp_waypoint_sume.v
# the external PEs
wp_chacha20_fifo.v
wp_chacha20_core.v
wp_chacha20.v
wp_ids_tbl.v
wp_ids.v
