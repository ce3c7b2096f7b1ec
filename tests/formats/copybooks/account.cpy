000100* Fixed format with sequence numbers in columns 1-6 and 73-80.    ACCT0001
000200 01  ACCOUNT.                                                     ACCT0002
000300     05  ACCT-NO         PIC 9(6).                                ACCT0003
000400     05  HOLDER          PIC X(10).                               ACCT0004
000500     05  BALANCE         PIC S9(9)V99 COMP-3.                     ACCT0005
000600     05  OPENED          PIC 9(8).                                ACCT0006
